package metrics

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sctpguard/sctpguard/admin"
)

// fakeSource serves a fixed summary and counts the calls. If release is
// not nil, Summary closes entered and waits for release to be closed.
type fakeSource struct {
	st      admin.Status
	calls   atomic.Int32
	entered chan struct{}
	release chan struct{}
}

func (f *fakeSource) Summary() admin.Status {
	f.calls.Add(1)
	if f.release != nil {
		close(f.entered)
		<-f.release
	}
	return f.st
}

func sampleStatus() admin.Status {
	return admin.Status{
		Version: "1.2.3",
		Started: time.Unix(1700000000, 500_000_000),
		Global:  admin.Budget{Limit: 256 << 20, Used: 12288},
		Relays: []admin.RelayStatus{
			{
				Name: "diameter", Listen: []string{"127.0.0.1:3868"}, Upstream: []string{"192.0.2.10:3868"},
				Budget: admin.Budget{Limit: 0, Used: 8192}, Associations: 3, Ending: 1, Held: 8192,
				Totals: admin.RelayTotals{
					Accepted: 10, Refused: 2,
					MsgsToUpstream: 120, BytesToUpstream: 48000,
					MsgsToFront: 118, BytesToFront: 47200,
					Blocked: 1500 * time.Millisecond,
					Ended:   map[admin.EndReason]uint64{admin.EndShutdown: 4, admin.EndPeerAbort: 1},
				},
			},
			{Name: "m3ua", Budget: admin.Budget{Limit: 1 << 20}},
			// A relay removed by a reload, with one association left.
			{Name: "old", Draining: true, Associations: 1, Ending: 1, Held: 100},
		},
	}
}

func TestCollectorExposition(t *testing.T) {
	c := NewCollector(&fakeSource{st: sampleStatus()})
	want := `
# HELP sctpguard_associations Relayed associations held now, by state: established, ending (shutting down, aborting or draining), or other.
# TYPE sctpguard_associations gauge
sctpguard_associations{relay="diameter",state="established"} 2
sctpguard_associations{relay="diameter",state="ending"} 1
sctpguard_associations{relay="diameter",state="other"} 0
sctpguard_associations{relay="m3ua",state="established"} 0
sctpguard_associations{relay="m3ua",state="ending"} 0
sctpguard_associations{relay="m3ua",state="other"} 0
sctpguard_associations{relay="old",state="established"} 0
sctpguard_associations{relay="old",state="ending"} 1
sctpguard_associations{relay="old",state="other"} 0
# HELP sctpguard_association_held_bytes True cost held for the relay's associations, both directions summed.
# TYPE sctpguard_association_held_bytes gauge
sctpguard_association_held_bytes{relay="diameter"} 8192
sctpguard_association_held_bytes{relay="m3ua"} 0
sctpguard_association_held_bytes{relay="old"} 100
# HELP sctpguard_associations_accepted_total Front associations accepted.
# TYPE sctpguard_associations_accepted_total counter
sctpguard_associations_accepted_total{relay="diameter"} 10
sctpguard_associations_accepted_total{relay="m3ua"} 0
sctpguard_associations_accepted_total{relay="old"} 0
# HELP sctpguard_associations_refused_total Front associations aborted before relaying (upstream unreachable, quota exhausted).
# TYPE sctpguard_associations_refused_total counter
sctpguard_associations_refused_total{relay="diameter"} 2
sctpguard_associations_refused_total{relay="m3ua"} 0
sctpguard_associations_refused_total{relay="old"} 0
# HELP sctpguard_budget_limit_bytes Limit of a memory budget; 0 means unlimited. level is global (relay="") or relay.
# TYPE sctpguard_budget_limit_bytes gauge
sctpguard_budget_limit_bytes{level="global",relay=""} 2.68435456e+08
sctpguard_budget_limit_bytes{level="relay",relay="diameter"} 0
sctpguard_budget_limit_bytes{level="relay",relay="m3ua"} 1.048576e+06
sctpguard_budget_limit_bytes{level="relay",relay="old"} 0
# HELP sctpguard_budget_used_bytes True cost (what the kernel holds for the messages, by the cost model) charged against a memory budget; level is global (relay="") or relay.
# TYPE sctpguard_budget_used_bytes gauge
sctpguard_budget_used_bytes{level="global",relay=""} 12288
sctpguard_budget_used_bytes{level="relay",relay="diameter"} 8192
sctpguard_budget_used_bytes{level="relay",relay="m3ua"} 0
sctpguard_budget_used_bytes{level="relay",relay="old"} 0
# HELP sctpguard_build_info Always 1; version labels the running daemon.
# TYPE sctpguard_build_info gauge
sctpguard_build_info{version="1.2.3"} 1
# HELP sctpguard_relayed_bytes_total Payload bytes relayed, by direction: to_upstream is from the application to the peer, to_front the way back.
# TYPE sctpguard_relayed_bytes_total counter
sctpguard_relayed_bytes_total{direction="to_front",relay="diameter"} 47200
sctpguard_relayed_bytes_total{direction="to_front",relay="m3ua"} 0
sctpguard_relayed_bytes_total{direction="to_front",relay="old"} 0
sctpguard_relayed_bytes_total{direction="to_upstream",relay="diameter"} 48000
sctpguard_relayed_bytes_total{direction="to_upstream",relay="m3ua"} 0
sctpguard_relayed_bytes_total{direction="to_upstream",relay="old"} 0
# HELP sctpguard_relayed_messages_total Messages relayed, by direction: to_upstream is from the application to the peer, to_front the way back.
# TYPE sctpguard_relayed_messages_total counter
sctpguard_relayed_messages_total{direction="to_front",relay="diameter"} 118
sctpguard_relayed_messages_total{direction="to_front",relay="m3ua"} 0
sctpguard_relayed_messages_total{direction="to_front",relay="old"} 0
sctpguard_relayed_messages_total{direction="to_upstream",relay="diameter"} 120
sctpguard_relayed_messages_total{direction="to_upstream",relay="m3ua"} 0
sctpguard_relayed_messages_total{direction="to_upstream",relay="old"} 0
# HELP sctpguard_start_time_seconds When the daemon started, in seconds since the Unix epoch.
# TYPE sctpguard_start_time_seconds gauge
sctpguard_start_time_seconds 1.7000000005e+09
# HELP sctpguard_writer_blocked_seconds_total Time writers spent blocked on a quota, summed over associations.
# TYPE sctpguard_writer_blocked_seconds_total counter
sctpguard_writer_blocked_seconds_total{relay="diameter"} 1.5
sctpguard_writer_blocked_seconds_total{relay="m3ua"} 0
sctpguard_writer_blocked_seconds_total{relay="old"} 0
`
	names := []string{
		"sctpguard_associations", "sctpguard_association_held_bytes",
		"sctpguard_associations_accepted_total", "sctpguard_associations_refused_total",
		"sctpguard_budget_limit_bytes", "sctpguard_budget_used_bytes", "sctpguard_build_info",
		"sctpguard_relayed_bytes_total", "sctpguard_relayed_messages_total",
		"sctpguard_start_time_seconds", "sctpguard_writer_blocked_seconds_total",
	}
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
}

// TestByReason: every known end and drop reason is exported, 0 if absent, and
// one this version does not know (a label value must never come from outside
// the fixed set) is folded into other.
func TestByReason(t *testing.T) {
	for _, tt := range []struct {
		metric string
		totals admin.RelayTotals
		want   string
	}{
		{"sctpguard_associations_ended_total", admin.RelayTotals{Ended: map[admin.EndReason]uint64{
			"shutdown": 4, "drain": 2, "bad_notification": 1,
			"martian": 3, "10.0.0.1:3868": 2, // unknown: folded into other
		}}, `
# HELP sctpguard_associations_ended_total Associations ended, by reason; reason is a fixed set, other for one this version does not know.
# TYPE sctpguard_associations_ended_total counter
sctpguard_associations_ended_total{reason="bad_notification",relay="diameter"} 1
sctpguard_associations_ended_total{reason="drain",relay="diameter"} 2
sctpguard_associations_ended_total{reason="io_error",relay="diameter"} 0
sctpguard_associations_ended_total{reason="no_original_dst",relay="diameter"} 0
sctpguard_associations_ended_total{reason="other",relay="diameter"} 5
sctpguard_associations_ended_total{reason="peer_abort",relay="diameter"} 0
sctpguard_associations_ended_total{reason="quota_exhausted",relay="diameter"} 0
sctpguard_associations_ended_total{reason="relay_loop",relay="diameter"} 0
sctpguard_associations_ended_total{reason="shutdown",relay="diameter"} 4
sctpguard_associations_ended_total{reason="stalled",relay="diameter"} 0
sctpguard_associations_ended_total{reason="stream_missing",relay="diameter"} 0
sctpguard_associations_ended_total{reason="too_large",relay="diameter"} 0
sctpguard_associations_ended_total{reason="too_many_connecting",relay="diameter"} 0
sctpguard_associations_ended_total{reason="upstream_unreachable",relay="diameter"} 0
`},
		{"sctpguard_dropped_messages_total", admin.RelayTotals{Dropped: map[admin.DropReason]uint64{
			admin.DropNoAssociation: 3, admin.DropUndeliverable: 2, "martian": 1,
		}}, `
# HELP sctpguard_dropped_messages_total Messages and events sctpguard read and dropped, by reason: read_error (a shared socket's read failed), no_association, association_closed and socket_closing (read for an association that had ended or was ending), undeliverable (read after the receiving leg had shut down), interrupted (pieces of a message its sender ended before its last piece); other for one this version does not know.
# TYPE sctpguard_dropped_messages_total counter
sctpguard_dropped_messages_total{reason="association_closed",relay="diameter"} 0
sctpguard_dropped_messages_total{reason="interrupted",relay="diameter"} 0
sctpguard_dropped_messages_total{reason="no_association",relay="diameter"} 3
sctpguard_dropped_messages_total{reason="other",relay="diameter"} 1
sctpguard_dropped_messages_total{reason="read_error",relay="diameter"} 0
sctpguard_dropped_messages_total{reason="socket_closing",relay="diameter"} 0
sctpguard_dropped_messages_total{reason="undeliverable",relay="diameter"} 2
`},
	} {
		st := admin.Status{Relays: []admin.RelayStatus{{Name: "diameter", Totals: tt.totals}}}
		c := NewCollector(&fakeSource{st: st})
		if err := testutil.CollectAndCompare(c, strings.NewReader(tt.want), tt.metric); err != nil {
			t.Errorf("%s: %v", tt.metric, err)
		}
	}
}

// The number of series depends on the relays, never on the associations
// or their states.
func TestSeriesBoundedByRelays(t *testing.T) {
	st := sampleStatus()
	st.Relays = st.Relays[:2]
	base := testutil.CollectAndCount(NewCollector(&fakeSource{st: st}))
	st.Relays[0].Associations, st.Relays[0].Ending, st.Relays[1].Associations = 10000, 3000, 500
	st.Relays[0].Totals.Ended = map[admin.EndReason]uint64{"x1": 1, "x2": 1, "x3": 1, admin.EndShutdown: 1}
	st.Relays[0].Totals.Dropped = map[admin.DropReason]uint64{"y1": 1, admin.DropUndeliverable: 1}
	got := testutil.CollectAndCount(NewCollector(&fakeSource{st: st}))
	if got != base {
		t.Fatalf("%d series with 10,500 associations and unknown end reasons, %d with none", got, base)
	}
	// Per relay: 2+2 relayed, 3 states, held, accepted, refused,
	// 14 end reasons, 7 drop reasons, 2 budgets, blocked, path events; plus
	// build info, start time, 2 global budgets.
	if want := 2*(4+3+1+2+14+7+2+1+1) + 4; base != want {
		t.Fatalf("%d series for two relays, want %d", base, want)
	}
}

// TestOneSummaryPerScrape: a scrape reads the summary once. It is the only
// thing a Source offers, so a scrape cannot take the per-association
// status snapshot, which asks the kernel about every association.
func TestOneSummaryPerScrape(t *testing.T) {
	src := &fakeSource{st: sampleStatus()}
	testutil.CollectAndCount(NewCollector(src))
	if n := src.calls.Load(); n != 1 {
		t.Fatalf("Summary called %d times in one scrape, want 1", n)
	}
}

func TestLint(t *testing.T) {
	problems, err := testutil.CollectAndLint(NewCollector(&fakeSource{st: sampleStatus()}))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// A duplicate relay name (impossible with a valid config) must not make
// the scrape fail.
func TestDuplicateRelay(t *testing.T) {
	st := sampleStatus()
	st.Relays = append(st.Relays, st.Relays[0])
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(&fakeSource{st: st}))
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
}

// A label value that is not UTF-8 is a scrape error, not a panic.
func TestInvalidLabel(t *testing.T) {
	st := sampleStatus()
	st.Version = "\xff"
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(&fakeSource{st: st}))
	mfs, err := reg.Gather()
	if err == nil || !strings.Contains(err.Error(), "sctpguard_build_info") {
		t.Fatalf("Gather error %v, want one naming sctpguard_build_info", err)
	}
	if len(mfs) == 0 {
		t.Fatal("Gather returned nothing; the other metrics should survive")
	}
}

// TestSharedSocketMetrics: a one_to_many relay reports its style and its shared
// socket's queue and stalled time; a relay of the other style only its style.
func TestSharedSocketMetrics(t *testing.T) {
	st := sampleStatus()
	st.Relays[0].ListenStyle = "one_to_many"
	st.Relays[0].Shared = &admin.SharedSocket{Associations: 3, Queued: 6144, Stalled: 2500 * time.Millisecond}
	st.Relays[1].ListenStyle = "one_to_one"
	want := `
# HELP sctpguard_relay_info Always 1; listen_style is the relay's front socket style, one_to_one or one_to_many.
# TYPE sctpguard_relay_info gauge
sctpguard_relay_info{listen_style="one_to_many",relay="diameter"} 1
sctpguard_relay_info{listen_style="one_to_one",relay="m3ua"} 1
# HELP sctpguard_shared_socket_queued_bytes True cost of the messages a one_to_many relay read from its shared front socket that wait for their association's pipe.
# TYPE sctpguard_shared_socket_queued_bytes gauge
sctpguard_shared_socket_queued_bytes{relay="diameter"} 6144
# HELP sctpguard_shared_socket_stalled_seconds_total Time a one_to_many relay's shared front socket was not read because a message did not fit its quotas: every association on it waited.
# TYPE sctpguard_shared_socket_stalled_seconds_total counter
sctpguard_shared_socket_stalled_seconds_total{relay="diameter"} 2.5
`
	err := testutil.CollectAndCompare(NewCollector(&fakeSource{st: st}), strings.NewReader(want),
		"sctpguard_relay_info", "sctpguard_shared_socket_queued_bytes", "sctpguard_shared_socket_stalled_seconds_total")
	if err != nil {
		t.Fatal(err)
	}
}
