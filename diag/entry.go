package diag

import (
	"fmt"
	"net/netip"
	"time"
)

// Kind tells an endpoint row from an association row.
type Kind uint8

const (
	// KindEndpoint is a row for a socket as such: a listener, or a socket
	// seen without its associations. Its State is the socket state (TCP
	// numbering: LISTEN, ESTABLISHED, CLOSE); RQueue and WQueue are the accept
	// backlog and its limit; Peers is empty.
	KindEndpoint Kind = iota + 1
	// KindAssoc is a row for one association. Its State is the association
	// state (SCTP numbering: ESTABLISHED, SHUTDOWN_SENT, ...); RQueue and
	// WQueue are the association's receive and send buffer use.
	KindAssoc
)

func (k Kind) String() string {
	switch k {
	case KindEndpoint:
		return "endpoint"
	case KindAssoc:
		return "assoc"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Entry is one row of the kernel's SCTP sock_diag dump.
type Entry struct {
	Kind Kind
	// Family is the socket's address family: unix.AF_INET or unix.AF_INET6.
	Family uint8
	// State is the raw state; its numbering depends on Kind (see StateName).
	State uint8
	// Timer is nonzero (SCTP_EVENT_TIMEOUT_T3_RTX) on an association row
	// while the primary path's retransmission timer runs: data awaits
	// acknowledgement.
	Timer uint8
	// Retrans is the association's count of retransmitted DATA chunks while
	// Timer runs, truncated to 8 bits.
	Retrans uint8
	// Src and Dst are the first local address and the primary peer address
	// of an association; for an endpoint row, the socket's bound address and
	// (for a connected socket) its peer.
	Src, Dst netip.AddrPort
	// IfIndex is the interface the primary path routes through, or 0.
	IfIndex uint32
	// Cookie identifies the socket (not the association) to sock_diag.
	Cookie uint64
	// Expires is the time left on Timer.
	Expires time.Duration
	// RQueue and WQueue: see Kind.
	RQueue, WQueue uint32
	// UID owns the socket; Inode is its inode number, as fstat on its file
	// descriptor reports it (see InodeOf). Endpoint and association rows of
	// one socket share it.
	UID, Inode uint32
	// Locals are the local addresses bound (INET_DIAG_LOCALS); Peers the
	// peer's addresses, one per transport (INET_DIAG_PEERS, association rows
	// only).
	Locals, Peers []netip.AddrPort
	// Mem is the socket's memory counters (INET_DIAG_SKMEMINFO), nil when
	// the kernel sent none.
	Mem *SkMemInfo
	// Info is struct sctp_info (INET_DIAG_INFO), nil when the kernel sent
	// none. For an endpoint row only its socket fields are set.
	Info *SCTPInfo
}

// SkMemInfo is the kernel's memory accounting for a socket, in bytes
// (INET_DIAG_SKMEMINFO, SK_MEMINFO_* in linux/sock_diag.h).
//
// On an association row, RmemAlloc is the association's own receive
// allocation when net.sctp.rcvbuf_policy is 1, else the whole socket's; the
// same holds for WmemAlloc and net.sctp.sndbuf_policy. The other fields are
// always the socket's. For a one-to-one socket, which holds one association,
// the difference does not matter.
type SkMemInfo struct {
	// RmemAlloc is receive memory held: the true size of queued socket
	// buffers, not payload bytes.
	RmemAlloc uint32
	// RcvBuf is SO_RCVBUF as the kernel keeps it (twice the value set).
	RcvBuf uint32
	// WmemAlloc is send memory held until the peer acknowledges it.
	WmemAlloc uint32
	// SndBuf is SO_SNDBUF as the kernel keeps it (twice the value set).
	SndBuf uint32
	// FwdAlloc is memory reserved from the protocol's pool but not yet used.
	FwdAlloc uint32
	// WmemQueued is memory of data queued for sending.
	WmemQueued uint32
	// OptMem is memory held for socket options and ancillary data.
	OptMem uint32
	// Backlog is bytes queued while the socket was locked by its user.
	Backlog uint32
	// Drops counts packets dropped on this socket.
	Drops uint32
}

// SCTPInfo holds the fields of struct sctp_info (linux/sctp.h) that tell
// what an association holds and how its windows stand.
type SCTPInfo struct {
	Tag   uint32 // our verification tag
	State uint32 // association state, SCTP numbering
	// Rwnd is the receive window this side last advertised.
	Rwnd uint32
	// Unacked is the number of DATA chunks sent and not yet acknowledged;
	// Pending the number of received TSNs not yet cumulatively acknowledged
	// (gaps in what the peer sent).
	Unacked, Pending uint16
	// InStreams and OutStreams are the negotiated stream counts.
	InStreams, OutStreams uint16
	// InQueue and OutQueue are the lengths of the inbound and outbound
	// chunk queues.
	InQueue, OutQueue uint32
	OverallError      uint32
	MaxBurst          uint32
	// MaxSeg is the fragmentation point: the largest payload sent in one
	// DATA chunk. (Linux leaves sctpi_fragmentation_point zero.)
	MaxSeg uint32
	// PeerRwnd is the peer's receive window as this side tracks it: the
	// window the peer last advertised, less what was sent since.
	PeerRwnd uint32
	PeerTag  uint32
	// Counters since the association began.
	InSacks, OutSacks     uint64
	OutPackets, InPackets uint64
	RtxChunks             uint64
	OutOfSeqTSNs          uint64
	DupChunks             uint64
	GapAckBlocks          uint64
	OutUnorderedChunks    uint64
	InUnorderedChunks     uint64
	OutOrderedChunks      uint64
	InOrderedChunks       uint64
	OutCtrlChunks         uint64
	InCtrlChunks          uint64
	// The primary path: its peer address, state (SCTP_ACTIVE = 2, ...),
	// congestion window, retransmission timeout and bytes in flight.
	PrimaryAddr       netip.AddrPort
	PrimaryState      int32
	PrimaryCwnd       uint32
	PrimaryRTO        time.Duration
	PrimaryFlightSize uint32
	// NoDelay is the socket's SCTP_NODELAY; set on endpoint rows too.
	NoDelay bool
}

// StateName names State in the numbering that matches Kind: "ESTABLISHED"
// for an established association, "LISTEN" for a listener.
func (e Entry) StateName() string {
	var names []string
	if e.Kind == KindAssoc {
		names = assocStates
	} else {
		names = sockStates
	}
	if int(e.State) < len(names) && names[e.State] != "" {
		return names[e.State]
	}
	return fmt.Sprintf("state(%d)", e.State)
}

// enum sctp_state in include/net/sctp/constants.h.
var assocStates = []string{
	"CLOSED", "COOKIE_WAIT", "COOKIE_ECHOED", "ESTABLISHED",
	"SHUTDOWN_PENDING", "SHUTDOWN_SENT", "SHUTDOWN_RECEIVED", "SHUTDOWN_ACK_SENT",
}

// SCTP socket states reuse the TCP numbering (SCTP_SS_* in linux/sctp.h).
var sockStates = []string{
	1: "ESTABLISHED", 7: "CLOSE", 8: "CLOSING", 10: "LISTEN",
}

// ByInode returns the association rows of entries keyed by socket inode.
// One-to-one style sockets, the only kind sctpguard opens, hold at most one
// association each.
func ByInode(entries []Entry) map[uint32]Entry {
	m := make(map[uint32]Entry)
	for _, e := range entries {
		if e.Kind == KindAssoc {
			m[e.Inode] = e
		}
	}
	return m
}
