package admin

import "time"

// Source is what the admin API reads from the running daemon.
type Source interface {
	// Status returns a snapshot. It is called once per request, so it
	// must be cheap and must not block on a relay.
	Status() Status
}

// Reloader (optional) triggers a configuration reload like SIGHUP. It returns
// the diagnostics if the new configuration is invalid, in which case nothing
// has changed.
type Reloader interface {
	Reload() error
}

// Status is a snapshot of the daemon. Its JSON form, served at GET /v1/status
// and printed by `sctpguard status --json`, is stable: fields may be added,
// never renamed or removed. Sizes are in bytes, durations in nanoseconds.
type Status struct {
	Version string    `json:"version"`
	Started time.Time `json:"started"` // RFC 3339
	// Global is the host-wide budget.
	Global Budget `json:"global"`
	// Relays lists the relay blocks of the configuration. Never null in JSON.
	Relays []RelayStatus `json:"relays"`
	// Associations lists the relayed associations. Never null in JSON.
	Associations []AssocStatus `json:"associations"`
}

// Budget is a memory budget: the true cost charged against it and its limit,
// both in bytes. A Limit of zero means no limit.
type Budget struct {
	Limit int64 `json:"limit"`
	Used  int64 `json:"used"`
}

// RelayStatus describes one relay block.
type RelayStatus struct {
	Name     string   `json:"name"`
	Listen   []string `json:"listen"`   // front addresses
	Upstream []string `json:"upstream"` // addresses of the upstream peer; none when Transparent
	// Transparent: each association is relayed to its original destination.
	Transparent bool   `json:"transparent,omitempty"`
	Budget      Budget `json:"budget"` // the socket-level budget
	// ListenStyle is the front endpoint's socket style: one_to_one (a
	// socket per association) or one_to_many (one shared socket).
	ListenStyle string `json:"listen_style,omitempty"`
	// Shared describes the shared front socket of a one_to_many relay; nil
	// for one_to_one.
	Shared *SharedSocket `json:"shared_socket,omitempty"`
	// Associations is the number of associations the relay holds, and
	// Ending how many of them are no longer ESTABLISHED (shutting down,
	// aborting or draining).
	Associations int `json:"associations"`
	Ending       int `json:"associations_ending"`
	// Held is the true cost charged for the relay's associations, both
	// directions and the shared socket's queue summed: the sum of their
	// HeldToUpstream and HeldToFront.
	Held int64 `json:"held"`
	// Draining is true for a relay removed or replaced by a reload, or
	// stopped by SIGTERM: it accepts no more and its associations drain.
	Draining bool `json:"draining,omitempty"`
	// Totals counts everything the relay did since the daemon started,
	// ended associations included.
	Totals RelayTotals `json:"totals"`
}

// SharedSocket is a one_to_many relay's front socket, which every front
// association of the relay shares.
type SharedSocket struct {
	// Associations is the number of associations on the socket.
	Associations int `json:"associations"`
	// Queued is the true cost of the messages read from the socket and not
	// yet taken by their association's pipe, charged to the relay's budget
	// (Budget.Used includes it).
	Queued int64 `json:"queued"`
	// KernelRecv and KernelSend are the socket's queues as the kernel counts
	// them (SO_MEMINFO: sk_rmem_alloc, sk_wmem_queued), all associations
	// together; -1 if unknown.
	KernelRecv int64 `json:"kernel_recv"`
	KernelSend int64 `json:"kernel_send"`
	// Stalls counts the times the reader stopped reading the socket because
	// a message did not fit the quotas (every association then waited), and
	// Stalled the time it waited in all.
	Stalls  uint64        `json:"stalls"`
	Stalled time.Duration `json:"stalled_ns"`
	// Dropped counts messages and events read from the socket and dropped,
	// every reason together, and DroppedBy by reason (see DropReason); the
	// relay's Totals.Dropped includes them.
	Dropped   uint64                `json:"dropped"`
	DroppedBy map[DropReason]uint64 `json:"dropped_by_reason,omitempty"`
}

// RelayTotals are a relay's counters since the daemon started. They only grow.
type RelayTotals struct {
	// Accepted counts front associations accepted; Refused those aborted
	// before relaying (upstream unreachable, quota exhausted).
	Accepted uint64 `json:"accepted"`
	Refused  uint64 `json:"refused"`

	MsgsToUpstream  uint64 `json:"msgs_to_upstream"`
	BytesToUpstream uint64 `json:"bytes_to_upstream"`
	MsgsToFront     uint64 `json:"msgs_to_front"`
	BytesToFront    uint64 `json:"bytes_to_front"`

	// GateToUpstream and GateToFront are what each direction's consumer gate
	// sees of its consumer (the upstream peer, the application): see GateStatus.
	GateToUpstream GateStatus `json:"gate_to_upstream"`
	GateToFront    GateStatus `json:"gate_to_front"`

	// Blocked is the time writers spent blocked on the quota.
	Blocked time.Duration `json:"blocked_ns"`
	// PathEvents counts path state changes on either leg.
	PathEvents uint64 `json:"path_events"`
	// Ended counts ended associations by reason (a fixed set, see
	// EndReason).
	Ended map[EndReason]uint64 `json:"ended"`
	// Dropped counts messages (and events) read and dropped, by reason (see
	// DropReason), the shared socket's included; absent reasons are 0.
	Dropped map[DropReason]uint64 `json:"dropped,omitempty"`
}

// AssocStatus describes one relayed association: a front association paired
// with an upstream one. "ToUpstream" counts the direction from the
// application to the peer, "ToFront" the way back.
type AssocStatus struct {
	ID       uint64 `json:"id"`
	Relay    string `json:"relay"`    // the relay block's name
	Front    string `json:"front"`    // the application's address
	Upstream string `json:"upstream"` // the peer's primary address
	// OriginalDst is, for a transparent relay, the destination the
	// application addressed before netfilter redirected it to the relay:
	// where the relay connected the upstream leg. Empty otherwise.
	OriginalDst string     `json:"original_dst,omitempty"`
	State       AssocState `json:"state"`

	MsgsToUpstream  uint64 `json:"msgs_to_upstream"`
	BytesToUpstream uint64 `json:"bytes_to_upstream"`
	MsgsToFront     uint64 `json:"msgs_to_front"`
	BytesToFront    uint64 `json:"bytes_to_front"`

	// HeldToUpstream and HeldToFront are the true cost sctpguard holds
	// charged for each direction, out of Quota (per direction).
	HeldToUpstream int64 `json:"held_to_upstream"`
	HeldToFront    int64 `json:"held_to_front"`
	Quota          int64 `json:"quota"`
	// QueuedToUpstream is the part of HeldToUpstream that waits in the
	// relay's shared front socket (one_to_many) for this association's
	// pipe: it may reach Quota on top of what the pipe holds.
	QueuedToUpstream int64 `json:"queued_to_upstream,omitempty"`

	// KernelToUpstream and KernelToFront are the bytes the kernel holds for
	// each direction, from sock_diag; -1 if unknown.
	KernelToUpstream int64 `json:"kernel_to_upstream"`
	KernelToFront    int64 `json:"kernel_to_front"`

	// PeerRwndUpstream and PeerRwndFront are the receive windows the
	// upstream peer and the application advertise.
	PeerRwndUpstream uint32 `json:"peer_rwnd_upstream"`
	PeerRwndFront    uint32 `json:"peer_rwnd_front"`

	// GateToUpstream and GateToFront are what each direction's consumer gate
	// sees of its consumer (the upstream peer, the application): see GateStatus.
	GateToUpstream GateStatus `json:"gate_to_upstream"`
	GateToFront    GateStatus `json:"gate_to_front"`

	// Blocked is the time writers spent blocked on the quota.
	Blocked time.Duration `json:"blocked_ns"`
	Age     time.Duration `json:"age_ns"`

	// PathsUpstream and PathsFront list the paths of each leg, one per peer
	// address, as the kernel sees them now; empty once a leg has ended.
	PathsUpstream []PathStatus `json:"paths_upstream"`
	PathsFront    []PathStatus `json:"paths_front"`
	// PathEvents counts the path state changes (SCTP_PEER_ADDR_CHANGE) both
	// legs reported since the association began.
	PathEvents uint64 `json:"path_events"`
}

// GateStatus is what a direction's consumer gate sees of the consumer: how much it
// holds unread, read from where, and the probes a stale window took.
type GateStatus struct {
	// Source is what Unread is read from: "queue" (the consumer's own receive
	// queue, on this host and namespace) or "window" (its receive window,
	// wherever it is).
	Source string `json:"source"`
	// Unread is the payload the consumer holds unread or not yet acknowledged,
	// at the gate's last reading. A consumer whose window does not shrink with
	// its queue (not Linux) shows 0 here while it holds messages.
	Unread int64 `json:"unread"`
	// Window is the receive window the consumer offers with nothing unread.
	Window uint32 `json:"window"`
	// HeldMsgs is the number of messages whose charge the gate holds (a count;
	// the bytes held are HeldToUpstream and HeldToFront).
	HeldMsgs int `json:"held_msgs"`
	// Probes counts messages sent beyond the quota to learn a stale window.
	Probes uint64 `json:"probes"`
}

// PathStatus is one path of an association: a peer address and its state,
// one of ACTIVE, INACTIVE, PF (potentially failed), UNCONFIRMED.
type PathStatus struct {
	Address string `json:"address"`
	State   string `json:"state"`
	// Primary is true for the path new data is sent on while it is usable.
	Primary bool `json:"primary"`
}

// normalized returns st with nil slices made empty, so that JSON shows []
// rather than null.
func (st Status) normalized() Status {
	if st.Relays == nil {
		st.Relays = []RelayStatus{}
	}
	assocs := make([]AssocStatus, len(st.Associations))
	for i, a := range st.Associations {
		if a.PathsUpstream == nil {
			a.PathsUpstream = []PathStatus{}
		}
		if a.PathsFront == nil {
			a.PathsFront = []PathStatus{}
		}
		assocs[i] = a
	}
	st.Associations = assocs
	relays := make([]RelayStatus, len(st.Relays))
	for i, r := range st.Relays {
		if r.Listen == nil {
			r.Listen = []string{}
		}
		if r.Upstream == nil {
			r.Upstream = []string{}
		}
		relays[i] = r
	}
	st.Relays = relays
	return st
}
