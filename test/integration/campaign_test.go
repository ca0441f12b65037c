package integration

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/sctpguard/sctpguard/admin"
	"github.com/sctpguard/sctpguard/sctpsock"
	"github.com/sctpguard/sctpguard/test/echopeer"
)

// The fault campaign: each fault strikes a flow of numbered messages on four
// streams, relayed through sctpguard to an echoing peer and back. At the end
// every message the application wrote must have come back once and in order,
// unless the application was told with ABORT. One row per fault says what it
// cost: messages lost, whether the application was told, and how long relaying
// took to resume once the fault was over.
//
//	go test -count=1 -v -run TestFaultCampaign ./test/integration/

// faultRow is what one fault cost.
type faultRow struct {
	fault    string
	sent     int64         // messages the application wrote
	back     int           // delivered once and in order (echoed back to it, unless the note says)
	told     bool          // the application saw ABORT
	recovery time.Duration // from the end of the fault to relaying again; <0: not measured
	note     string
}

func (r faultRow) lost() int64 { return r.sent - int64(r.back) }

// faultCase is one fault of the campaign.
type faultCase struct {
	name, fault string
	run         func(t *testing.T) faultRow
}

func TestFaultCampaign(t *testing.T) {
	faults := []faultCase{
		{"peer_killed", "upstream peer killed (SIGKILL) mid-flood, then restarted", peerKilled},
		{"guard_stopped", "sctpguard stopped (SIGSTOP) for 5 s mid-flood", guardStopped},
		{"lossy_paths", "5% loss and reordering on both paths of a two-path association", lossyReordered},
		{"init_flood", "INITs at up to 1,000 a second toward an unreachable upstream, beside a live relay", initFlood},
		{"half_message", "a client's path fails halfway through a 512 KiB message, for 5 s, beside another client", halfMessage},
		{"descriptors", "file descriptors exhausted while relaying", descriptorsExhausted},
		{"reload_storm", "a reload every 200 ms under load", reloadStorm},
	}
	var rows []faultRow
	for _, fc := range faults {
		t.Run(fc.name, func(t *testing.T) {
			r := fc.run(t)
			r.fault = fc.fault
			if !r.told && r.lost() != 0 {
				t.Errorf("%d of %d messages lost and the application was not told", r.lost(), r.sent)
			}
			rows = append(rows, r)
		})
	}
	t.Logf("fault campaign (go test -count=1 -v -run TestFaultCampaign ./test/integration/):\n%s", faultTable(rows))
}

// faultTable renders rows as a markdown table.
func faultTable(rows []faultRow) string {
	var b strings.Builder
	b.WriteString("| fault | messages written | delivered once, in order | lost | application told (ABORT) | relaying again after | notes |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		told, rec := "no", "—"
		if r.told {
			told = "yes"
		}
		if r.recovery >= 0 {
			rec = r.recovery.Round(time.Millisecond).String()
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %s | %s | %s |\n", r.fault, r.sent, r.back, r.lost(), told, rec, r.note)
	}
	return b.String()
}

// flowRun is a numbered flow in progress: the application c writes f's
// messages, batch at a time with pause between batches, and reads the echoes.
type flowRun struct {
	f     *flow
	stop  chan struct{}
	sent  chan error
	ended <-chan error // how the application's association ended
}

func startFlowRun(c *sctpsock.Conn, f *flow, batch int, pause time.Duration) *flowRun {
	r := &flowRun{f: f, stop: make(chan struct{}), sent: make(chan error, 1)}
	r.ended = f.readEchoes(c)
	total := len(f.sentAt)
	go func() { // flow-sender: ends at total, at stop or on a failed write
		for from := 0; from < total; from += batch {
			if err := f.send(c, from, min(from+batch, total)); err != nil {
				r.sent <- err
				return
			}
			select {
			case <-r.stop:
				r.sent <- nil
				return
			case <-time.After(pause):
			}
		}
		r.sent <- nil
	}()
	return r
}

// finish stops the writer and waits until every message written came back or
// the association ended; it fails the test on a message altered, duplicated or
// out of order.
func (r *flowRun) finish(t *testing.T, timeout time.Duration) faultRow {
	t.Helper()
	close(r.stop)
	var sendErr, endErr error
	select {
	case sendErr = <-r.sent:
	case <-time.After(timeout):
		t.Errorf("the application's writer did not stop within %v", timeout)
	}
	deadline := time.Now().Add(timeout)
	for endErr == nil && r.f.atFront.count() < int(r.f.sent.Load()) && r.f.atFront.problem() == "" {
		if time.Now().After(deadline) {
			t.Errorf("%d of %d echoes came back within %v", r.f.atFront.count(), r.f.sent.Load(), timeout)
			break
		}
		select {
		case endErr = <-r.ended:
		case <-time.After(20 * time.Millisecond):
		}
	}
	if p := r.f.atFront.problem(); p != "" {
		t.Errorf("the application's echoes: %s", p)
	}
	told := errors.Is(endErr, sctpsock.ErrAborted) || errors.Is(sendErr, sctpsock.ErrAborted)
	if !told && (endErr != nil || sendErr != nil) {
		t.Errorf("the association ended with %v (writer: %v), want it alive or ABORT", endErr, sendErr)
	}
	return faultRow{sent: r.f.sent.Load(), back: r.f.atFront.count(), told: told, recovery: -1}
}

// firstAfter is how long after at (since the flow's start) the first echo came
// back; -1 if none did.
func (r *flowRun) firstAfter(at time.Duration) time.Duration {
	r.f.atFront.mu.Lock()
	defer r.f.atFront.mu.Unlock()
	first := time.Duration(-1)
	for _, a := range r.f.atFront.at {
		if a > at && (first < 0 || a < first) {
			first = a
		}
	}
	if first < 0 {
		return -1
	}
	return first - at
}

// echoPeerEnv makes the test binary an echo peer listening on its value (see
// TestMain), so that a test can kill a peer process with SIGKILL.
const echoPeerEnv = "SCTPGUARD_TEST_ECHO_PEER"

// serveEchoPeer is the echo peer process: it serves until it is killed.
func serveEchoPeer(addr string) int {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo peer:", err)
		return 2
	}
	ln, err := sctpsock.Listen([]netip.AddrPort{ap}, faultOpts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo peer:", err)
		return 1
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "echo peer:", err)
			return 1
		}
		go echopeer.Serve(c) // echo-serve: ends with its association or the process
	}
}

// startPeerProcess runs an echo peer process on addr and returns a function
// that kills it with SIGKILL.
func startPeerProcess(t *testing.T, addr netip.AddrPort) (kill func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), echoPeerEnv+"="+addr.String())
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("echo peer process: %v", err)
	}
	kill = func() {
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	t.Cleanup(kill)
	waitListening(t, int(addr.Port()))
	return kill
}

// peerKilled: the peer process dies with messages unread, so its kernel aborts
// the association; the application must see ABORT, and once a new peer listens
// a new association is relayed.
func peerKilled(t *testing.T) faultRow {
	addr := netip.AddrPortFrom(loopback, uint16(freePort(t)))
	kill := startPeerProcess(t, addr)
	g := startGuard(t, relayConfig(addr, "streams = 4"))
	r := startFlowRun(dial(t, g.addr, faultOpts), newFlow(4, 1_000_000, 64), 1000, 0)
	eventually(t, "the flood under way", 20*time.Second, func() bool { return r.f.atFront.count() > 5000 })
	kill()
	row := r.finish(t, 30*time.Second)
	if !row.told {
		t.Error("the application was not told (no ABORT) that the peer died")
	}
	startPeerProcess(t, addr)
	back := time.Now()
	echoRound(t, dial(t, g.addr, faultOpts), 100)
	row.recovery = time.Since(back)
	row.note = "relaying again: a new association's 100 echoes, from the new peer's listen on"
	return row
}

// guardStopped: sctpguard does nothing for 5 s; its kernel keeps both
// associations up, and the flood resumes where it stopped.
func guardStopped(t *testing.T) faultRow {
	up := echopeer.Listen(t, faultOpts)
	g := startGuard(t, relayConfig(up, "streams = 4"))
	r := startFlowRun(dial(t, g.addr, faultOpts), newFlow(4, 60_000, 64), 1000, 0)
	eventually(t, "the flood under way", 20*time.Second, func() bool { return r.f.atFront.count() > 5000 })
	g.signal(t, syscall.SIGSTOP)
	time.Sleep(5 * time.Second)
	g.signal(t, syscall.SIGCONT)
	cont := time.Since(r.f.start)
	eventually(t, "the flood to finish", 2*time.Minute, func() bool { return r.f.sent.Load() == 60_000 })
	row := r.finish(t, time.Minute)
	row.recovery = r.firstAfter(cont)
	row.note = "relaying again: the first echo after SIGCONT"
	return row
}

// lossyReordered: netem loses 5% of the packets of both paths each way and
// delays a quarter of them by 5 ms, which reorders them.
func lossyReordered(t *testing.T) faultRow {
	const total = 5000
	m := startMultiHomed(t, 4, total, 100)
	m.waitPaths(t, "ACTIVE", 10*time.Second)
	bad := netlink.NetemQdiscAttrs{Loss: 5, Latency: 5000, ReorderProb: 25, ReorderCorr: 50}
	m.h.setNetem(0, bad)
	m.h.setNetem(1, bad)
	r := startFlowRun(m.c, m.f, 100, 0)
	eventually(t, "every message written", 5*time.Minute, func() bool { return m.f.sent.Load() == total })
	row := r.finish(t, 5*time.Minute)
	m.f.atPeer.verify(t, "upstream peer", total)
	row.note = fmt.Sprintf("longest wait between two echoes %v", m.f.atFront.longestGap(0, time.Hour).Round(time.Millisecond))
	return row
}

// initFlood: applications open associations as fast as they can, up to 1,000 a
// second for 3 s, on a relay whose upstream never answers; another relay of the
// same process keeps relaying, and sctpguard's descriptors and memory stay
// bounded by max_connecting.
func initFlood(t *testing.T) faultRow {
	const limit = 64
	h := newTwoHosts(t)
	var p *echoingPeer
	h.in(h.peer, func() { p = startEchoingPeer(t, peerAddrs(0), faultOpts, nil) })
	silentNeighbours(t, h)
	h.setLoss(0, 100)
	h.setLoss(1, 100)
	defer h.setLoss(0, 0)
	defer h.setLoss(1, 0)
	var g *guard
	var live netip.AddrPort
	h.in(h.guard, func() {
		local := echopeer.Listen(t, faultOpts)
		live = netip.AddrPortFrom(loopback, uint16(freePort(t)))
		cfg := multiHomedConfig(peerAddrs(p.ln.Addrs()[0].Port()),
			fmt.Sprintf("streams = 4\n  connect_timeout = \"2s\"\n  max_connecting = %d", limit))
		g = startGuard(t, cfg+fmt.Sprintf("relay \"live\" {\n  listen = [%q]\n  upstream = [%q]\n  streams = 4\n}\n", live, local))
	})
	defer g.stop() // before the loss is gone, or its connects would reach the peer
	g.waitLog("started", 20*time.Second)
	fds0, rss0 := fdCount(t, g.pid()), rssOf(t, g.pid())
	var r *flowRun
	h.in(h.guard, func() { r = startFlowRun(dial(t, live, faultOpts), newFlow(4, 100_000, 64), 100, 10*time.Millisecond) })
	var attempts int
	var peakFds int
	var peakRSS int64
	e := g.waitLog("listening", 10*time.Second, "upstream", hostPaths[0][1].Addr().String())
	silent := netip.MustParseAddrPort(strings.Trim(fmt.Sprint(e["addrs"]), "[]"))
	attempts, peakFds, peakRSS = floodINITs(t, h, g, silent, 3*time.Second)
	row := r.finish(t, time.Minute)
	var tot admin.RelayTotals
	for _, rs := range guardStatus(t, g).Relays {
		if rs.Name == "test" {
			tot = rs.Totals
		}
	}
	t.Logf("%d applications connected in 3 s: %d accepted, %d refused; descriptors %d, at most %d; RSS %d KiB, at most %d KiB",
		attempts, tot.Accepted, tot.Refused, fds0, peakFds, rss0>>10, peakRSS>>10)
	// Two per association connecting, one per association accepted and not
	// yet handled or refused and not yet closed (the accept queue, 64).
	if bound := fds0 + 2*limit + 64 + 16; peakFds > bound {
		t.Errorf("sctpguard held %d descriptors, %d before: more than %d (max_connecting %d)", peakFds, fds0, bound, limit)
	}
	row.note = fmt.Sprintf("%d connects (%.0f/s), %d refused; sctpguard's descriptors %d → at most %d, RSS %d → at most %d MiB",
		attempts, float64(attempts)/3, tot.Refused, fds0, peakFds, rss0>>20, peakRSS>>20)
	return row
}

// floodINITs opens associations to addr, a relay of g, from h's guard
// namespace for d, at most one a millisecond, each closed once it is up; it
// returns how many it opened and the most descriptors and memory sctpguard
// held.
func floodINITs(t *testing.T, h *twoHosts, g *guard, addr netip.AddrPort, d time.Duration) (n, peakFds int, peakRSS int64) {
	t.Helper()
	var opened atomic.Int64
	tokens := make(chan struct{})
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() { // init-flooder: ends when tokens is closed
			defer wg.Done()
			h.in(h.guard, func() {
				for range tokens {
					c, err := sctpsock.Dial(ctxFor(t, 10*time.Second), nil, []netip.AddrPort{addr}, faultOpts)
					if err == nil {
						c.Close()
					}
					opened.Add(1)
				}
			})
		}()
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	sample := time.NewTicker(100 * time.Millisecond)
	defer sample.Stop()
	for end := time.Now().Add(d); time.Now().Before(end); {
		select {
		case <-sample.C:
			peakFds, peakRSS = max(peakFds, fdCount(t, g.pid())), max(peakRSS, rssOf(t, g.pid()))
		case <-tick.C:
			select {
			case tokens <- struct{}{}:
			default: // every flooder busy: this millisecond's connect is skipped
			}
		}
	}
	close(tokens)
	wg.Wait()
	return int(opened.Load()), max(peakFds, fdCount(t, g.pid())), max(peakRSS, rssOf(t, g.pid()))
}

// halfMessage: client A's path is slowed to 256 KB/s, A sends a 512 KiB
// message, and after 1 s the path loses everything for 5 s: sctpguard has half
// of the message. Client B, on the other path and another relay of the same
// process, keeps sending numbered messages to a peer that checks them; once A's
// path is back, A's message arrives whole and is echoed.
//
// B's flow goes one way: an echoed flow from a client in another namespace
// was seen to stall for tens of seconds in this topology with or without the
// fault (see the note on the issue); this row is about A's half message.
func halfMessage(t *testing.T) faultRow {
	h := newTwoHosts(t)
	pa, pb := uint16(40100), uint16(40101)
	var g *guard
	var sink *flowPeer
	h.in(h.guard, func() {
		// A socket's send buffer must hold a whole message: the echo's 512 KiB too.
		local := echopeer.Listen(t, sctpsock.Options{OutStreams: 4, MaxInStreams: 4, MaxMessage: 1 << 20, SendBuffer: 2 << 20})
		sink = startFlowPeer(t, nil)
		relay := func(name string, at netip.Addr, port uint16, up netip.AddrPort) string {
			return fmt.Sprintf("relay %q {\n  listen = [%q]\n  upstream = [%q]\n  streams = 4\n  max_message = \"512KiB\"\n  quota { association = \"4MiB\" }\n}\n",
				name, netip.AddrPortFrom(at, port), up)
		}
		g = startGuard(t, relay("a", hostPaths[0][0].Addr(), pa, local)+relay("b", hostPaths[1][0].Addr(), pb, sink.addr)+
			"log {\n  level = \"debug\"\n  format = \"json\"\n}\nadmin {\n  socket = \"%ADMIN%\"\n}\n")
	})
	// Each client is bound to its own path: multi-homed, each would also be
	// hit by the other path's fault, which is SCTP's own behaviour.
	var a, b *sctpsock.Conn
	h.in(h.peer, func() {
		a = dialFrom(t, hostPaths[0][1].Addr(), netip.AddrPortFrom(hostPaths[0][0].Addr(), pa),
			sctpsock.Options{OutStreams: 4, MaxInStreams: 4, MaxMessage: 1 << 20, SendBuffer: 2 << 20})
		b = dialFrom(t, hostPaths[1][1].Addr(), netip.AddrPortFrom(hostPaths[1][0].Addr(), pb), faultOpts)
	})
	stop := make(chan struct{})
	s := startSender(b, 64, stop)
	h.setNetem(0, netlink.NetemQdiscAttrs{Rate64: 256 << 10})
	big := randomBytes(512 << 10)
	if err := a.WriteMsg(sctpsock.Msg{Data: big, PPID: 7}); err != nil {
		t.Fatalf("client A: %v", err)
	}
	time.Sleep(time.Second)
	h.setNetem(0, netlink.NetemQdiscAttrs{Loss: 100})
	time.Sleep(5 * time.Second)
	held := relayTotalsHeld(t, g, "a")
	h.setNetem(0, netlink.NetemQdiscAttrs{})
	back := time.Now()
	a.SetReadDeadline(time.Now().Add(time.Minute))
	m, err := readData(a, make([]byte, 1<<20))
	took := time.Since(back)
	if err == nil && !bytes.Equal(m.Data, big) {
		err = fmt.Errorf("the echo of the 512 KiB message came back altered (%d bytes)", len(m.Data))
	}
	if err != nil {
		t.Errorf("client A: %v", err)
	}
	close(stop)
	<-s.done
	eventually(t, "client B's messages at its peer", time.Minute, func() bool { return sink.arrived.Load() >= s.sent.Load() })
	if b := sink.bad.Load(); b != nil {
		t.Errorf("client B's peer: %v", b)
	}
	// Until partial delivery begins (a quarter of SO_RCVBUF, which sctpguard
	// sizes from the quota), the pieces wait in the kernel's reassembly queue,
	// within SO_RCVBUF, and nothing is charged yet.
	return faultRow{sent: s.sent.Load(), back: int(sink.arrived.Load()), told: errors.Is(s.err, sctpsock.ErrAborted), recovery: took,
		note: fmt.Sprintf("the numbers are client B's, one way; relay a held %d KiB charged while A's message was cut; relaying again: A's whole message echoed once its path came back", held>>10)}
}

// dialFrom is dial from the local address from only.
func dialFrom(t *testing.T, from netip.Addr, to netip.AddrPort, o sctpsock.Options) *sctpsock.Conn {
	t.Helper()
	c, err := sctpsock.Dial(ctxFor(t, 20*time.Second), []netip.Addr{from}, []netip.AddrPort{to}, o)
	if err != nil {
		t.Fatalf("dial %v from %v: %v", to, from, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// relayTotalsHeld is what relay name holds charged now.
func relayTotalsHeld(t *testing.T, g *guard, name string) int64 {
	t.Helper()
	for _, rs := range guardStatus(t, g).Relays {
		if rs.Name == name {
			return rs.Held
		}
	}
	t.Fatalf("status lists no relay %q", name)
	return 0
}

// descriptorsExhausted: sctpguard's descriptor limit is lowered to what it
// holds while it relays a flow; new associations are refused, the flow goes on,
// and once the limit is raised a new association is relayed.
func descriptorsExhausted(t *testing.T) faultRow {
	up := echopeer.Listen(t, faultOpts)
	g := startGuard(t, relayConfig(up, "streams = 4"))
	g.waitLog("started", 20*time.Second)
	r := startFlowRun(dial(t, g.addr, faultOpts), newFlow(4, 100_000, 64), 100, 10*time.Millisecond)
	// The limit is taken from the descriptors in use once the flow's
	// association has both legs: lowered before its upstream socket opens, it
	// would refuse that association and leave room for others.
	eventually(t, "the flow's first echoes", 20*time.Second, func() bool { return r.f.atFront.count() > 0 })
	var old unix.Rlimit
	if err := unix.Prlimit(g.pid(), unix.RLIMIT_NOFILE, nil, &old); err != nil {
		t.Fatal(err)
	}
	lim := unix.Rlimit{Cur: uint64(freeDescriptors(t, g.pid())[0]), Max: old.Max}
	if err := unix.Prlimit(g.pid(), unix.RLIMIT_NOFILE, &lim, nil); err != nil {
		t.Fatal(err)
	}
	refused := 0
	for range 10 {
		if refusedAssociation(t, g.addr) == nil {
			refused++
		}
	}
	if err := unix.Prlimit(g.pid(), unix.RLIMIT_NOFILE, &old, nil); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	echoRound(t, dial(t, g.addr, faultOpts), 100)
	took := time.Since(back)
	row := r.finish(t, time.Minute)
	// The spare descriptor is closed for the accept that sheds an association;
	// another goroutine's open or accept can take the number in between, and
	// the shedding accept tries again for a few milliseconds only: one of ten
	// may wait in the backlog until a descriptor is free.
	if refused < 9 {
		t.Errorf("%d of 10 associations opened without a descriptor free were refused, want at least 9", refused)
	}
	row.recovery = took
	row.note = fmt.Sprintf("%d of 10 new associations refused while no descriptor was free; relaying again: a new association's 100 echoes once the limit is raised", refused)
	return row
}

// reloadStorm: the configuration is rewritten and reloaded every 200 ms for
// 5 s, the association quota alternating between 1 MiB and 2 MiB, while a
// flow runs.
func reloadStorm(t *testing.T) faultRow {
	up := echopeer.Listen(t, faultOpts)
	cfg := func(quota string) string {
		return relayConfig(up, "streams = 4\n  quota { association = \""+quota+"\" }")
	}
	g := startGuard(t, cfg("1MiB"))
	r := startFlowRun(dial(t, g.addr, faultOpts), newFlow(4, 1_000_000, 64), 1000, 0)
	for i := range 25 {
		time.Sleep(200 * time.Millisecond)
		g.rewrite(t, cfg([]string{"2MiB", "1MiB"}[i%2]))
		g.signal(t, syscall.SIGHUP)
	}
	eventually(t, "25 reloads", 30*time.Second, func() bool { return g.countLog("configuration reloaded") >= 25 })
	row := r.finish(t, time.Minute)
	if n := g.countLog("association ended"); n != 0 {
		t.Errorf("%d associations ended during the reloads, want 0", n)
	}
	row.note = fmt.Sprintf("%d reloads, no association ended", g.countLog("configuration reloaded"))
	return row
}
