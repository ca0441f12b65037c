package integration

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/admin"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// Multi-homing: sctpguard's upstream association runs on two paths (see twoHosts);
// faults on the primary path must not lose, duplicate or reorder a message.

// fastPaths are path settings that make failover take a fraction of a second on
// veth, for sctpguard and the test's peer alike. Linux's defaults (RTO min 1s,
// max 60s, heartbeats every 30s) would make each fault below take minutes.
var fastPaths = sctpsock.PathOptions{
	HeartbeatInterval:  200 * time.Millisecond,
	MaxRetransmissions: 2,
	RTOInitial:         200 * time.Millisecond,
	RTOMin:             100 * time.Millisecond,
	RTOMax:             400 * time.Millisecond,
}

const fastPathsHCL = `streams = 4
  path {
    heartbeat_interval  = "200ms"
    max_retransmissions = 2
    rto_initial         = "200ms"
    rto_min             = "100ms"
    rto_max             = "400ms"
    %s
  }`

// multiHomed is one running setup: the two hosts, the peer, sctpguard, the front
// application's association and the flow between them.
type multiHomed struct {
	h       *twoHosts
	p       *echoingPeer
	g       *guard
	c       *sctpsock.Conn
	f       *flow
	opts    sctpsock.Options // of the application's and the peer's sockets
	primary netip.AddrPort   // the peer's address on path 1, as sctpguard dials it
}

func startMultiHomed(t *testing.T, streams, total, size int) *multiHomed {
	t.Helper()
	return startMultiHomedWith(t, streams, total, size, func([]netip.AddrPort) string { return "" })
}

// startMultiHomedWith is startMultiHomed with pathExtra's lines, given the peer's
// addresses, added to the relay's path block.
func startMultiHomedWith(t *testing.T, streams, total, size int, pathExtra func(up []netip.AddrPort) string) *multiHomed {
	t.Helper()
	return startMultiHomedOn(t, newTwoHosts(t), streams, total, size, pathExtra)
}

// startMultiHomedOn is startMultiHomedWith on hosts h made by the caller.
func startMultiHomedOn(t *testing.T, h *twoHosts, streams, total, size int, pathExtra func(up []netip.AddrPort) string) *multiHomed {
	t.Helper()
	m := &multiHomed{h: h, f: newFlow(streams, total, size)}
	// The application and the peer get receive buffers large enough that they drop
	// nothing: what is measured is sctpguard and the network.
	opts := sctpsock.Options{OutStreams: uint16(streams), MaxInStreams: uint16(streams), NoDelay: true, Path: fastPaths,
		RecvBuffer: 4 << 20}
	m.opts = opts
	m.h.in(m.h.peer, func() { m.p = startEchoingPeer(t, peerAddrs(0), opts, m.f) })
	up := peerAddrs(m.p.ln.Addrs()[0].Port())
	m.primary = up[0]
	m.h.in(m.h.guard, func() {
		m.g = startGuard(t, multiHomedConfig(up, fmt.Sprintf(fastPathsHCL, pathExtra(up))))
		m.g.waitLog("started", 20*time.Second) // the admin socket is up
		m.c = dial(t, m.g.addr, opts)
	})
	return m
}

// upstreamPaths are the upstream leg's paths in status; nil until status lists
// the association. It fails the test if status lists more than one.
func (m *multiHomed) upstreamPaths(t *testing.T) []admin.PathStatus {
	t.Helper()
	st := guardStatus(t, m.g)
	if len(st.Associations) > 1 {
		t.Fatalf("status lists %d associations, want 1", len(st.Associations))
	}
	if len(st.Associations) == 0 {
		return nil
	}
	return st.Associations[0].PathsUpstream
}

// primaryPath is the upstream path status marks primary; "" if none.
func (m *multiHomed) primaryPath(t *testing.T) string {
	t.Helper()
	for _, p := range m.upstreamPaths(t) {
		if p.Primary {
			return p.Address
		}
	}
	return ""
}

// setSysctl writes value to /proc/sys/NAME in the calling thread's network
// namespace (net.* settings are per namespace).
func setSysctl(t *testing.T, name, value string) {
	t.Helper()
	if err := os.WriteFile("/proc/sys/"+name, []byte(value), 0o644); err != nil {
		t.Fatalf("sysctl %s: %v", name, err)
	}
}

// waitPaths waits until status shows the two upstream paths with the primary in
// state primary and the other usable: ACTIVE, or PF (potentially failed after one
// retransmission timeout, which lossy paths see now and then).
func (m *multiHomed) waitPaths(t *testing.T, primary string, timeout time.Duration) {
	t.Helper()
	var last []admin.PathStatus
	eventually(t, fmt.Sprintf("2 upstream paths in status, %v %s and the other ACTIVE or PF", m.primary, primary), timeout, func() bool {
		last = m.upstreamPaths(t)
		ok := len(last) == 2
		for _, p := range last {
			if p.Address == m.primary.String() {
				ok = ok && p.State == primary
			} else {
				ok = ok && (p.State == "ACTIVE" || p.State == "PF")
			}
		}
		return ok
	}, func() string { return fmt.Sprintf("status shows %v", last) })
}

// TestFailover sends 10,000 numbered messages on 4 streams from the application
// through sctpguard to a peer that echoes them, one every 2 ms while the primary path
// of sctpguard's upstream association fails twice: its link goes down and comes
// back, then it loses every packet (netem loss 100%) and recovers. Each time
// sctpguard must log the path unreachable and available again, status must show it,
// traffic must move to path 2 and back, the association must survive, and every
// message must arrive once and in order per stream, both ways. The peer must have
// seen the same path fail and return on its side.
func TestFailover(t *testing.T) {
	const streams, total, size = 4, 10000, 100
	m := startMultiHomed(t, streams, total, size)
	h, g, f := m.h, m.g, m.f
	frontEnded := f.readEchoes(m.c)
	sent := make(chan error, 1)
	f.interval.Store(int64(2 * time.Millisecond))
	go func() { sent <- f.send(m.c, 0, total) }()

	eventually(t, "first echoes", 30*time.Second, func() bool { return f.atFront.count() > 200 })
	m.waitPaths(t, "ACTIVE", 10*time.Second)
	addr := m.primary.String()
	faults := []struct {
		name           string
		inject, repair func()
	}{
		{"link down", func() { h.setLink(0, false) }, func() { h.setLink(0, true) }},
		{"netem loss 100%", func() { h.setLoss(0, 100) }, func() { h.setLoss(0, 0) }},
	}
	injected := make([]time.Duration, len(faults))
	for i, fault := range faults {
		path2 := h.txPackets(1)
		injected[i] = time.Since(f.start)
		fault.inject()
		unreachable := g.waitLogN(t, i+1, 30*time.Second, "path state changed", "leg", "upstream", "address", addr, "state", "ADDR_UNREACHABLE")
		m.waitPaths(t, "INACTIVE", 5*time.Second)
		if i == 0 {
			t.Logf("sctpguard status during the fault:\n%s", g.statusTable(t))
		}
		before := f.atPeer.count()
		time.Sleep(time.Second) // traffic on path 2 alone
		moved := h.txPackets(1) - path2
		if f.atPeer.count() <= before {
			t.Errorf("%s: no message reached the peer in the second after the path was declared unreachable", fault.name)
		}
		fault.repair()
		available := g.waitLogN(t, i+1, 30*time.Second, "path state changed", "leg", "upstream", "address", addr, "state", "ADDR_AVAILABLE")
		m.waitPaths(t, "ACTIVE", 5*time.Second)
		// The peer's replies come back on path 1 only once the peer has seen the path
		// return too (its next heartbeat); until then sctpguard's SACKs follow them.
		guardAddr := hostPaths[0][0].Addr().String() + ":"
		// At most 5 s, and not a failure if it does not: the check below is on
		// the packets, which the peer may move back before its event says so.
		for end := time.Now().Add(5 * time.Second); m.p.eventCount(guardAddr, "ADDR_AVAILABLE") <= i && time.Now().Before(end); {
			time.Sleep(20 * time.Millisecond)
		}
		p1, p2 := h.txPackets(0), h.txPackets(1)
		time.Sleep(time.Second)
		back1, back2 := h.txPackets(0)-p1, h.txPackets(1)-p2
		t.Logf("%s: primary declared unreachable %v after the fault, %d packets on path 2 until a second later; "+
			"available again %v after the repair; in the next second %d packets on path 1, %d on path 2",
			fault.name, unreachable.Round(time.Millisecond), moved, available.Round(time.Millisecond), back1, back2)
		if back1 < 10 || back1 < 4*back2 {
			t.Errorf("%s: %d packets on path 1 and %d on path 2 in the second after it came back; want the traffic back on the primary", fault.name, back1, back2)
		}
	}
	if n := f.sent.Load(); n >= total {
		t.Errorf("all %d messages were sent before the faults were over", n)
	}
	f.interval.Store(0)
	if err := <-sent; err != nil {
		t.Fatalf("application: %v", err)
	}
	eventually(t, "every echo back at the application", 2*time.Minute, func() bool {
		return f.atFront.count() >= total || f.atFront.problem() != "" || f.atPeer.problem() != ""
	})
	f.atPeer.verify(t, "upstream peer", total)
	f.atFront.verify(t, "application (echoes)", total)
	for i, fault := range faults {
		t.Logf("%s: the first message sent after the fault reached the peer %v later; longest time without a delivery %v",
			fault.name, f.firstDeliveryAfter(injected[i]).Round(time.Millisecond),
			f.atPeer.longestGap(injected[i], injected[i]+10*time.Second).Round(time.Millisecond))
	}

	// One association throughout, on both sides, which saw the same failures.
	if n := m.p.accepted.Load(); n != 1 {
		t.Errorf("the peer accepted %d associations, want 1", n)
	}
	if n := g.countLog("association ended"); n != 0 {
		t.Errorf("%d associations ended during the faults, want none", n)
	}
	for _, state := range []string{"ADDR_UNREACHABLE", "ADDR_AVAILABLE"} {
		if !m.p.sawEvent(hostPaths[0][0].Addr().String()+":", state) {
			t.Errorf("the peer saw no %s for sctpguard's address on path 1; it saw %v", state, m.p.eventList())
		}
	}
	if st := guardStatus(t, g); len(st.Associations) == 1 && st.Associations[0].PathEvents < 4 {
		t.Errorf("status counts %d path events, want at least 4", st.Associations[0].PathEvents)
	}

	m.c.Shutdown()
	if err := <-frontEnded; !errors.Is(err, io.EOF) {
		t.Errorf("application's association ended with %v, want SHUTDOWN", err)
	}
	g.waitLog("association ended", 20*time.Second, "reason", "shutdown", "msgs_to_upstream", fmt.Sprint(total))
}

// TestLossyPaths sends 10,000 numbered messages on 4 streams as fast as the
// association takes them, echoed back, first on clean paths and then with netem
// losing 5% of the packets each way on both paths: every message must arrive once
// and in order per stream. It reports the throughputs side by side with those of a
// direct association between the same hosts, the same paths and settings.
func TestLossyPaths(t *testing.T) {
	const streams, batch, size = 4, 10000, 100
	m := startMultiHomed(t, streams, 2*batch, size)
	via := m.f
	viaEnded := via.readEchoes(m.c)
	m.waitPaths(t, "ACTIVE", 10*time.Second)

	// The direct association: the same application socket options, to a second
	// echoing peer on the same addresses.
	direct := newFlow(streams, 2*batch, size)
	var dp *echoingPeer
	m.h.in(m.h.peer, func() { dp = startEchoingPeer(t, peerAddrs(0), m.opts, direct) })
	var dc *sctpsock.Conn
	m.h.in(m.h.guard, func() { dc = dialAll(t, peerAddrs(dp.ln.Addrs()[0].Port()), m.opts) })
	direct.readEchoes(dc)

	type result struct {
		took time.Duration
		c    counterDiff
	}
	run := func(f *flow, c *sctpsock.Conn, from int) result {
		before := m.counters(t)
		start := time.Now()
		if err := f.send(c, from, from+batch); err != nil {
			t.Fatalf("application: %v", err)
		}
		eventually(t, "every echo back at the application", 5*time.Minute, func() bool {
			return f.atFront.count() >= from+batch || f.atFront.problem() != "" || f.atPeer.problem() != ""
		})
		return result{time.Since(start), m.counters(t).since(before)}
	}
	var results [2][2]result // [clean, lossy][direct, via sctpguard]
	results[0][0] = run(direct, dc, 0)
	results[0][1] = run(via, m.c, 0)
	m.h.setLoss(0, 5)
	m.h.setLoss(1, 5)
	results[1][0] = run(direct, dc, batch)
	results[1][1] = run(via, m.c, batch)
	via.atPeer.verify(t, "upstream peer", 2*batch)
	via.atFront.verify(t, "application (echoes)", 2*batch)
	direct.atPeer.verify(t, "direct: peer", 2*batch)
	direct.atFront.verify(t, "direct: application (echoes)", 2*batch)

	rate := func(r result) float64 { return batch / r.took.Seconds() }
	for i, paths := range []string{"clean paths", "5% loss on both paths"} {
		for j, path := range []string{"direct", "via sctpguard"} {
			r := results[i][j]
			t.Logf("%s, %s: %d messages of %d B each way in %v: %.0f msg/s round trip; %s",
				paths, path, batch, size, r.took.Round(time.Millisecond), rate(r), r.c)
		}
		t.Logf("%s: sctpguard at %.2f× the direct association's throughput", paths, rate(results[i][1])/rate(results[i][0]))
	}
	t.Logf("5%% loss: direct at %.2f×, via sctpguard at %.2f× its throughput on clean paths",
		rate(results[1][0])/rate(results[0][0]), rate(results[1][1])/rate(results[0][1]))
	if l, c := results[1][0].c, results[0][0].c; l.fast+l.t3 <= c.fast+c.t3 {
		t.Error("no more retransmissions with 5% loss than without: netem did not apply")
	}
	if n := m.p.accepted.Load(); n != 1 {
		t.Errorf("the peer accepted %d associations through sctpguard, want 1", n)
	}
	m.h.setLoss(0, 0)
	m.h.setLoss(1, 0)
	m.c.Shutdown()
	if err := <-viaEnded; !errors.Is(err, io.EOF) {
		t.Errorf("application's association ended with %v, want SHUTDOWN", err)
	}
	m.g.waitLog("association ended", 20*time.Second, "reason", "shutdown", "msgs_to_upstream", fmt.Sprint(2*batch))
}

// dialAll connects to every address of a multi-homed peer at once.
func dialAll(t *testing.T, addrs []netip.AddrPort, o sctpsock.Options) *sctpsock.Conn {
	t.Helper()
	c, err := sctpsock.Dial(ctxFor(t, 20*time.Second), nil, addrs, o)
	if err != nil {
		t.Fatalf("dial %v: %v", addrs, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// counterDiff is what SCTP counted in both namespaces over a run.
type counterDiff struct {
	t3, fast       int64 // retransmissions on timeout and fast
	guardDiscarded int64 // DATA chunks sctpguard's namespace dropped on arrival (receive buffer full)
	peerDiscarded  int64 // the same in the peer's namespace
}

func (d counterDiff) String() string {
	return fmt.Sprintf("retransmissions: %d on timeout, %d fast; DATA chunks discarded on arrival (SctpInDataChunkDiscards: no room, or duplicates): %d in sctpguard's namespace, %d in the peer's",
		d.t3, d.fast, d.guardDiscarded, d.peerDiscarded)
}

type counterSnapshot struct{ guard, peer map[string]int64 }

// counters reads the SCTP counters of both namespaces.
func (m *multiHomed) counters(t *testing.T) counterSnapshot {
	t.Helper()
	s := counterSnapshot{guard: sctpCounters(t, fmt.Sprintf("/proc/%d/net/sctp/snmp", m.g.pid()))}
	m.h.in(m.h.peer, func() { s.peer = sctpCounters(t, "/proc/thread-self/net/sctp/snmp") })
	return s
}

func (s counterSnapshot) since(b counterSnapshot) counterDiff {
	d := func(m, o map[string]int64, k string) int64 { return m[k] - o[k] }
	return counterDiff{
		t3:             d(s.guard, b.guard, "SctpT3Retransmits") + d(s.peer, b.peer, "SctpT3Retransmits"),
		fast:           d(s.guard, b.guard, "SctpFastRetransmits") + d(s.peer, b.peer, "SctpFastRetransmits"),
		guardDiscarded: d(s.guard, b.guard, "SctpInDataChunkDiscards"),
		peerDiscarded:  d(s.peer, b.peer, "SctpInDataChunkDiscards"),
	}
}

// sctpCounters reads SCTP counters from path, a /proc/.../net/sctp/snmp.
func sctpCounters(t *testing.T, path string) map[string]int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			out[f[0]] = n
		}
	}
	return out
}

// TestPrimaryPath: with path.primary naming the peer's address on path 2, sctpguard
// makes it the primary path of its upstream association: status marks it primary,
// and the messages go on path 2 while both paths are up. (Path 1 still carries
// sctpguard's SACKs for the peer's echoes, which the peer sends to its own primary,
// sctpguard's address on path 1: so bytes are compared, not packets.)
//
// Then path 2 fails (netem loss 100%) and recovers. sctpguard's host has RFC 7829's
// primary path switchover on (net.sctp.ps_retrans = 1), so its kernel makes path 1
// the primary while path 2 is down, and never moves it back by itself: once path 2
// is available again, status must show it primary again, and the messages go there.
func TestPrimaryPath(t *testing.T) {
	const streams, total, size = 4, 2000, 100
	h := newTwoHosts(t)
	h.in(h.guard, func() { setSysctl(t, "net/sctp/ps_retrans", "1") }) // read by each new socket
	m := startMultiHomedOn(t, h, streams, 2*total, size, func(up []netip.AddrPort) string {
		return fmt.Sprintf("primary = %q", up[1].String())
	})
	g, f := m.g, m.f
	frontEnded := f.readEchoes(m.c)
	second := peerAddrs(m.primary.Port())[1].String()
	eventually(t, "status to list the upstream paths", 10*time.Second, func() bool { return len(m.upstreamPaths(t)) == 2 })
	for _, p := range m.upstreamPaths(t) {
		if p.Primary != (p.Address == second) {
			t.Errorf("status: path %s primary=%v; want only %s primary", p.Address, p.Primary, second)
		}
	}
	p1, p2 := h.txBytes(0), h.txBytes(1)
	if err := f.send(m.c, 0, total); err != nil {
		t.Fatalf("application: %v", err)
	}
	eventually(t, "every echo back at the application", time.Minute, func() bool {
		return f.atFront.count() >= total || f.atFront.problem() != "" || f.atPeer.problem() != ""
	})
	f.atPeer.verify(t, "upstream peer", total)
	f.atFront.verify(t, "application (echoes)", total)
	on1, on2 := h.txBytes(0)-p1, h.txBytes(1)-p2
	t.Logf("%d messages of %d B each way: %d bytes from sctpguard's host on path 1, %d on path 2", total, size, on1, on2)
	if on2 < uint64(total*size) || on2 < 2*on1 {
		t.Errorf("%d bytes on path 1 and %d on path 2; want the messages on path 2, the configured primary", on1, on2)
	}
	if n := g.countLog("cannot make the configured path primary"); n != 0 {
		t.Errorf("sctpguard logged %d failures to set the primary path", n)
	}

	h.setLoss(1, 100)
	g.waitLogN(t, 1, 30*time.Second, "path state changed", "leg", "upstream", "address", second, "state", "ADDR_UNREACHABLE")
	eventually(t, "the kernel to make path 1 primary while path 2 is down", 10*time.Second, func() bool {
		return m.primaryPath(t) == m.primary.String()
	})
	h.setLoss(1, 0)
	back := g.waitLogN(t, 1, 30*time.Second, "path state changed", "leg", "upstream", "address", second, "state", "ADDR_AVAILABLE")
	eventually(t, "path 2 primary again in status", 10*time.Second, func() bool { return m.primaryPath(t) == second })
	t.Logf("path 2 failed and recovered: available again %v after the repair, and primary again", back.Round(time.Millisecond))
	p1, p2 = h.txBytes(0), h.txBytes(1)
	if err := f.send(m.c, total, 2*total); err != nil {
		t.Fatalf("application: %v", err)
	}
	eventually(t, "every echo after the recovery", time.Minute, func() bool {
		return f.atFront.count() >= 2*total || f.atFront.problem() != "" || f.atPeer.problem() != ""
	})
	f.atPeer.verify(t, "upstream peer", 2*total)
	f.atFront.verify(t, "application (echoes)", 2*total)
	on1, on2 = h.txBytes(0)-p1, h.txBytes(1)-p2
	t.Logf("after the recovery, %d messages each way: %d bytes on path 1, %d on path 2", total, on1, on2)
	if on2 < uint64(total*size) || on2 < 2*on1 {
		t.Errorf("after the recovery: %d bytes on path 1 and %d on path 2; want the messages back on path 2, the configured primary", on1, on2)
	}
	m.c.Shutdown()
	if err := <-frontEnded; !errors.Is(err, io.EOF) {
		t.Errorf("application's association ended with %v, want SHUTDOWN", err)
	}
}
