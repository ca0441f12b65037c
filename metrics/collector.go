package metrics

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sctpguard/sctpguard/admin"
)

// Label values. They are fixed enums (reasons and directions are admin's
// vocabulary); relay names come from the configuration. Nothing else ever
// becomes a label.
const (
	stateEstablished = "established"
	stateEnding      = "ending"
	stateOther       = "other"

	levelGlobal = "global"
	levelRelay  = "relay"

	reasonOther = "other"
)

var (
	descMessages = prometheus.NewDesc("sctpguard_relayed_messages_total",
		"Messages relayed, by direction: to_upstream is from the application to the peer, to_front the way back.",
		[]string{"relay", "direction"}, nil)
	descBytes = prometheus.NewDesc("sctpguard_relayed_bytes_total",
		"Payload bytes relayed, by direction: to_upstream is from the application to the peer, to_front the way back.",
		[]string{"relay", "direction"}, nil)
	descAssocs = prometheus.NewDesc("sctpguard_associations",
		"Relayed associations held now, by state: established, ending (shutting down, aborting or draining), or other.",
		[]string{"relay", "state"}, nil)
	descAccepted = prometheus.NewDesc("sctpguard_associations_accepted_total",
		"Front associations accepted.",
		[]string{"relay"}, nil)
	descRefused = prometheus.NewDesc("sctpguard_associations_refused_total",
		"Front associations aborted before relaying (upstream unreachable, quota exhausted).",
		[]string{"relay"}, nil)
	descEnded = prometheus.NewDesc("sctpguard_associations_ended_total",
		"Associations ended, by reason; reason is a fixed set, other for one this version does not know.",
		[]string{"relay", "reason"}, nil)
	descDropped = prometheus.NewDesc("sctpguard_dropped_messages_total",
		"Messages and events sctpguard read and dropped, by reason: read_error (a shared socket's read failed), no_association, association_closed and socket_closing (read for an association that had ended or was ending), undeliverable (read after the receiving leg had shut down), interrupted (pieces of a message its sender ended before its last piece); other for one this version does not know.",
		[]string{"relay", "reason"}, nil)
	descBudgetUsed = prometheus.NewDesc("sctpguard_budget_used_bytes",
		"True cost (what the kernel holds for the messages, by the cost model) charged against a memory budget; level is global (relay=\"\") or relay.",
		[]string{"level", "relay"}, nil)
	descBudgetLimit = prometheus.NewDesc("sctpguard_budget_limit_bytes",
		"Limit of a memory budget; 0 means unlimited. level is global (relay=\"\") or relay.",
		[]string{"level", "relay"}, nil)
	descHeld = prometheus.NewDesc("sctpguard_association_held_bytes",
		"True cost held for the relay's associations, both directions summed.",
		[]string{"relay"}, nil)
	descBlocked = prometheus.NewDesc("sctpguard_writer_blocked_seconds_total",
		"Time writers spent blocked on a quota, summed over associations.",
		[]string{"relay"}, nil)
	descPathEvents = prometheus.NewDesc("sctpguard_path_events_total",
		"Path state changes (SCTP_PEER_ADDR_CHANGE: a peer address unreachable, available again, ...) on either leg.",
		[]string{"relay"}, nil)
	descRelayInfo = prometheus.NewDesc("sctpguard_relay_info",
		"Always 1; listen_style is the relay's front socket style, one_to_one or one_to_many.",
		[]string{"relay", "listen_style"}, nil)
	descSharedQueued = prometheus.NewDesc("sctpguard_shared_socket_queued_bytes",
		"True cost of the messages a one_to_many relay read from its shared front socket that wait for their association's pipe.",
		[]string{"relay"}, nil)
	descSharedStalled = prometheus.NewDesc("sctpguard_shared_socket_stalled_seconds_total",
		"Time a one_to_many relay's shared front socket was not read because a message did not fit its quotas: every association on it waited.",
		[]string{"relay"}, nil)
	descBuildInfo = prometheus.NewDesc("sctpguard_build_info",
		"Always 1; version labels the running daemon.",
		[]string{"version"}, nil)
	descStartTime = prometheus.NewDesc("sctpguard_start_time_seconds",
		"When the daemon started, in seconds since the Unix epoch.",
		nil, nil)
)

var allDescs = []*prometheus.Desc{
	descMessages, descBytes, descAssocs, descAccepted, descRefused, descEnded, descDropped,
	descBudgetUsed, descBudgetLimit, descHeld, descBlocked, descPathEvents, descBuildInfo, descStartTime,
	descRelayInfo, descSharedQueued, descSharedStalled,
}

// Source is what the collector reads once per scrape: the daemon's budgets
// and every relay's counters, an admin.Status without its associations
// (*proxy.Server implements it from counters the relays keep, asking the
// kernel nothing and doing no work per association).
type Source interface {
	Summary() admin.Status
}

// Collector is a prometheus.Collector that reads one summary per scrape and
// turns it into the sctpguard_ metrics. It keeps no state.
type Collector struct {
	src Source
}

// NewCollector returns a Collector reading src, which must not be nil.
func NewCollector(src Source) *Collector {
	return &Collector{src: src}
}

// Describe sends the descriptors of every metric Collect may send.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect calls Summary once and sends the metrics it yields.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.Summary()
	collectDaemon(ch, st)
	// A relay replaced by a reload drains under the same name as its
	// successor: its associations add to the name's gauges, while the
	// counters are the first relay's (names are unique in a valid config;
	// never send a series twice).
	tallies := make(map[string]*tally, len(st.Relays))
	var names []string
	for _, r := range st.Relays {
		t := tallies[r.Name]
		if t == nil {
			t = new(tally)
			tallies[r.Name] = t
			names = append(names, r.Name)
			collectRelay(ch, r)
		}
		t.add(r)
	}
	for _, name := range names {
		collectAssociations(ch, name, tallies[name])
	}
}

func collectDaemon(ch chan<- prometheus.Metric, st admin.Status) {
	gauge(ch, descBuildInfo, 1, st.Version)
	if !st.Started.IsZero() {
		gauge(ch, descStartTime, float64(st.Started.UnixNano())/1e9)
	}
	gauge(ch, descBudgetUsed, float64(st.Global.Used), levelGlobal, "")
	gauge(ch, descBudgetLimit, float64(st.Global.Limit), levelGlobal, "")
}

func collectRelay(ch chan<- prometheus.Metric, r admin.RelayStatus) {
	t := r.Totals
	up, front := string(admin.ToUpstream), string(admin.ToFront)
	counter(ch, descMessages, float64(t.MsgsToUpstream), r.Name, up)
	counter(ch, descMessages, float64(t.MsgsToFront), r.Name, front)
	counter(ch, descBytes, float64(t.BytesToUpstream), r.Name, up)
	counter(ch, descBytes, float64(t.BytesToFront), r.Name, front)
	counter(ch, descAccepted, float64(t.Accepted), r.Name)
	counter(ch, descRefused, float64(t.Refused), r.Name)
	counter(ch, descBlocked, t.Blocked.Seconds(), r.Name)
	counter(ch, descPathEvents, float64(t.PathEvents), r.Name)
	gauge(ch, descBudgetUsed, float64(r.Budget.Used), levelRelay, r.Name)
	gauge(ch, descBudgetLimit, float64(r.Budget.Limit), levelRelay, r.Name)
	collectByReason(ch, descEnded, r.Name, t.Ended, admin.EndReasons)
	collectByReason(ch, descDropped, r.Name, t.Dropped, admin.DropReasons)
	if r.ListenStyle != "" {
		gauge(ch, descRelayInfo, 1, r.Name, r.ListenStyle)
	}
	if sh := r.Shared; sh != nil {
		gauge(ch, descSharedQueued, float64(sh.Queued), r.Name)
		counter(ch, descSharedStalled, sh.Stalled.Seconds(), r.Name)
	}
}

// collectByReason sends d for every known reason, 0 if absent, and folds
// unknown keys into "other", so the series stay the same set whatever the map
// holds.
func collectByReason[R ~string](ch chan<- prometheus.Metric, d *prometheus.Desc, relay string, counts map[R]uint64, known []R) {
	var other uint64
	for reason, n := range counts {
		if !slices.Contains(known, reason) {
			other += n
		}
	}
	for _, reason := range known {
		counter(ch, d, float64(counts[reason]), relay, string(reason))
	}
	counter(ch, d, float64(other), relay, reasonOther)
}

// tally is what the associations of a relay name add up to.
type tally struct {
	established, ending int
	held                int64
}

func (t *tally) add(r admin.RelayStatus) {
	ending := min(max(r.Ending, 0), r.Associations)
	t.established += r.Associations - ending
	t.ending += ending
	t.held += r.Held
}

// collectAssociations sends every state; other is always 0 (a state this
// version does not have), kept so that the series stay the same set.
func collectAssociations(ch chan<- prometheus.Metric, relay string, t *tally) {
	gauge(ch, descAssocs, float64(t.established), relay, stateEstablished)
	gauge(ch, descAssocs, float64(t.ending), relay, stateEnding)
	gauge(ch, descAssocs, 0, relay, stateOther)
	gauge(ch, descHeld, float64(t.held), relay)
}

func counter(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	send(ch, d, prometheus.CounterValue, v, labels)
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	send(ch, d, prometheus.GaugeValue, v, labels)
}

// send sends one sample. A label value that is not valid UTF-8 makes the
// scrape report an error instead of panicking in the daemon.
func send(ch chan<- prometheus.Metric, d *prometheus.Desc, t prometheus.ValueType, v float64, labels []string) {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	ch <- m
}
