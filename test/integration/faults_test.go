package integration

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sctpguard/sctpguard/sctpsock"
	"github.com/sctpguard/sctpguard/test/echopeer"
)

// Faults: the peer restarts, never answers, aborts mid-stream; sctpguard is killed
// and restarted; sctpguard runs out of file descriptors. Each test checks what the
// application and the upstream peer see, and what sctpguard logs.

var faultOpts = sctpsock.Options{OutStreams: 4, MaxInStreams: 4, NoDelay: true}

// fixedPortConfig is relayConfig listening on a port chosen now, so that a
// restarted sctpguard listens where the first one did.
func fixedPortConfig(t *testing.T, upstream netip.AddrPort, extra string) (string, netip.AddrPort) {
	t.Helper()
	listen := netip.AddrPortFrom(loopback, uint16(freePort(t)))
	return fmt.Sprintf(`
relay "test" {
  listen   = [%q]
  upstream = [%q]
  streams  = 4
  %s
}
log {
  level  = "debug"
  format = "json"
}
admin {
  socket = "%%ADMIN%%"
}
`, listen.String(), upstream.String(), extra), listen
}

// echoRound sends n numbered messages on c and waits for all of them to come back
// in order; it fails the test otherwise.
func echoRound(t *testing.T, c *sctpsock.Conn, n int) {
	t.Helper()
	f := newFlow(4, n, 64)
	ended := f.readEchoes(c)
	if err := f.send(c, 0, n); err != nil {
		t.Fatalf("application: %v", err)
	}
	eventually(t, "echoes", 30*time.Second, func() bool { return f.atFront.count() >= n || f.atFront.problem() != "" })
	f.atFront.verify(t, "application (echoes)", n)
	select {
	case err := <-ended:
		t.Fatalf("association ended during the round: %v", err)
	default:
	}
	// Stop the reader without ending the association: it gives up at the deadline.
	c.SetReadDeadline(time.Now())
	<-ended
	c.SetReadDeadline(time.Time{})
}

// TestGuardKilled: sctpguard dies of SIGKILL in the middle of relaying. Both the
// application and the upstream peer must see ABORT, never a graceful SHUTDOWN, which
// would tell them that everything they sent was received. A new sctpguard on the same
// configuration then relays a new association.
func TestGuardKilled(t *testing.T) {
	p := startEchoingPeer(t, []netip.AddrPort{netip.AddrPortFrom(loopback, 0)}, faultOpts, nil)
	cfg, listen := fixedPortConfig(t, p.ln.Addrs()[0], "")
	g := startGuard(t, cfg)
	c := dial(t, listen, faultOpts)
	echoRound(t, c, 200)
	frontEnded := make(chan error, 1)
	go func() { _, err := readEnd(c, 20*time.Second); frontEnded <- err }()

	if err := g.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	g.exit(t, 10*time.Second)
	if err := <-frontEnded; !errors.Is(err, sctpsock.ErrAborted) {
		t.Errorf("application saw its association end with %v, want ABORT", err)
	}
	select {
	case err := <-p.ended:
		if !errors.Is(err, sctpsock.ErrAborted) {
			t.Errorf("upstream peer saw its association end with %v, want ABORT", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("upstream peer's association did not end")
	}

	g2 := startGuard(t, cfg)
	if g2.addr != listen {
		t.Fatalf("restarted sctpguard listens on %v, want %v", g2.addr, listen)
	}
	c2 := dial(t, listen, faultOpts)
	echoRound(t, c2, 200)
	if n := p.accepted.Load(); n != 2 {
		t.Errorf("upstream peer accepted %d associations, want 2: the first and the one through the new sctpguard", n)
	}
}

// TestPeerRestart: the upstream peer's process dies (its associations abort) and a
// new one listens on the same port. The association relayed to the old one ends with
// ABORT on the front, an application connecting while nothing listens is refused,
// and a new association is relayed to the new peer.
func TestPeerRestart(t *testing.T) {
	p1 := startEchoingPeer(t, []netip.AddrPort{netip.AddrPortFrom(loopback, 0)}, faultOpts, nil)
	upstream := p1.ln.Addrs()[0]
	g := startGuard(t, relayConfig(upstream, `streams = 4
  connect_timeout = "3s"`))
	c1 := dial(t, g.addr, faultOpts)
	echoRound(t, c1, 100)
	frontEnded := make(chan error, 1)
	go func() { _, err := readEnd(c1, 20*time.Second); frontEnded <- err }()

	// The peer's process dies: its listener closes and its association aborts.
	p1.ln.Close()
	p1.abortAll(t)
	if err := <-frontEnded; !errors.Is(err, sctpsock.ErrAborted) {
		t.Errorf("application saw its association end with %v, want ABORT", err)
	}
	g.waitLog("association ended", 10*time.Second, "reason", "peer_abort")

	// While nothing listens, a new application association is refused.
	if err := refusedAssociation(t, g.addr); err != nil {
		t.Errorf("application connecting while the peer is down: %v", err)
	}
	g.waitLog("association refused", 10*time.Second, "error", "refused")

	// The new peer process listens on the same port.
	p2 := startEchoingPeer(t, []netip.AddrPort{upstream}, faultOpts, nil)
	c3 := dial(t, g.addr, faultOpts)
	echoRound(t, c3, 100)
	if n := p2.accepted.Load(); n != 1 {
		t.Errorf("the restarted peer accepted %d associations, want 1", n)
	}
	if st := guardStatus(t, g); len(st.Associations) != 1 || st.Associations[0].Upstream != upstream.String() {
		t.Errorf("status after the restart: %+v, want one association to %v", st.Associations, upstream)
	}
	t.Logf("sctpguard refused the association while the peer was down: %v",
		g.findLog("association refused")["error"])
}

// TestUpstreamSilent: the upstream peer's host drops everything (netem loss 100% on
// both paths), so INIT is never answered. The application's association is aborted
// after connect_timeout, the log says why, and the peer never sees an association.
func TestUpstreamSilent(t *testing.T) {
	h := newTwoHosts(t)
	var p *echoingPeer
	h.in(h.peer, func() { p = startEchoingPeer(t, peerAddrs(0), faultOpts, nil) })
	up := peerAddrs(p.ln.Addrs()[0].Port())
	h.setLoss(0, 100)
	h.setLoss(1, 100)
	var g *guard
	var c *sctpsock.Conn
	h.in(h.guard, func() {
		g = startGuard(t, multiHomedConfig(up, `connect_timeout = "2s"`))
		c = dial(t, g.addr, faultOpts)
	})
	start := time.Now()
	if _, err := readEnd(c, 20*time.Second); !errors.Is(err, sctpsock.ErrAborted) {
		t.Fatalf("application saw %v, want ABORT", err)
	}
	took := time.Since(start)
	e := g.waitLog("association refused", 5*time.Second, "error", "no answer to INIT")
	t.Logf("application aborted %v after connecting; sctpguard logged: %v", took.Round(time.Millisecond), e["error"])
	if took < 1500*time.Millisecond || took > 6*time.Second {
		t.Errorf("application aborted after %v, want about connect_timeout (2s)", took)
	}
	if !matches(e, []string{"error", up[0].String()}) {
		t.Errorf("the log line does not name the upstream addresses %v", up)
	}
	if n := p.accepted.Load(); n != 0 {
		t.Errorf("upstream peer accepted %d associations, want none", n)
	}
	if st := guardStatus(t, g); st.Relays[0].Totals.Refused != 1 {
		t.Errorf("status counts %d refused associations, want 1", st.Relays[0].Totals.Refused)
	}
}

// TestPeerAbortMidStream: the upstream peer aborts after 500 of a stream of numbered
// messages. The application sees ABORT, its writes fail, the peer got the first 500
// in order, and sctpguard logs the peer's abort.
func TestPeerAbortMidStream(t *testing.T) {
	const total, cut = 5000, 500
	f := newFlow(4, total, 64)
	p := startEchoingPeer(t, []netip.AddrPort{netip.AddrPortFrom(loopback, 0)}, faultOpts, f)
	p.abortAfter = cut
	g := startGuard(t, relayConfig(p.ln.Addrs()[0], `streams = 4`))
	c := dial(t, g.addr, faultOpts)
	frontEnded := f.readEchoes(c)
	sendErr := f.send(c, 0, total)
	if sendErr == nil {
		t.Fatalf("all %d messages were written although the peer aborted after %d", total, cut)
	}
	select {
	case err := <-frontEnded:
		if !errors.Is(err, sctpsock.ErrAborted) {
			t.Errorf("application saw its association end with %v, want ABORT", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("application's write failed with %v, but its association did not end", sendErr)
	}
	if got := f.atPeer.count(); got != cut || f.atPeer.problem() != "" {
		t.Errorf("peer received %d messages before it aborted (%s), want %d in order", got, f.atPeer.problem(), cut)
	}
	if f.atFront.problem() != "" || f.atFront.count() > cut {
		t.Errorf("application got %d echoes (%s), want at most %d in order", f.atFront.count(), f.atFront.problem(), cut)
	}
	g.waitLog("association ended", 10*time.Second, "reason", "peer_abort")
	t.Logf("application: %d of %d messages written before the write failed with %v; %d echoes came back",
		f.sent.Load(), total, sendErr, f.atFront.count())
}

// abortAll aborts every association the peer holds, as the kernel does when a
// process dies with messages unread.
func (p *echoingPeer) abortAll(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	conns := append([]*sctpsock.Conn(nil), p.conns...)
	p.mu.Unlock()
	for _, c := range conns {
		c.Abort()
	}
}

// TestDescriptorExhaustion: sctpguard's file descriptor limit is lowered while it
// relays three associations, so that it cannot open the sockets of a fourth. New
// associations are refused (the application sees ABORT) with a log line, the three
// keep relaying, sctpguard does not crash, and once the limit is raised again a new
// association is relayed.
func TestDescriptorExhaustion(t *testing.T) {
	up := startPeer(t, faultOpts, echopeer.Serve)
	g := startGuard(t, relayConfig(up.addr, `streams = 4`))
	g.waitLog("started", 20*time.Second)
	var live []*sctpsock.Conn
	for range 3 {
		c := dial(t, g.addr, faultOpts)
		echoRound(t, c, 20)
		live = append(live, c)
	}
	var old unix.Rlimit
	if err := unix.Prlimit(g.pid(), unix.RLIMIT_NOFILE, nil, &old); err != nil {
		t.Fatal(err)
	}
	for _, free := range []int{1, 0} {
		// With one descriptor free the accept succeeds and the upstream socket
		// fails; with none the accept itself fails.
		lim := unix.Rlimit{Cur: uint64(freeDescriptors(t, g.pid())[free]), Max: old.Max}
		if err := unix.Prlimit(g.pid(), unix.RLIMIT_NOFILE, &lim, nil); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if err := refusedAssociation(t, g.addr); err != nil {
				t.Errorf("%d descriptors free: new association %d: %v", free, i, err)
			}
		}
		for _, c := range live {
			echoRound(t, c, 20)
		}
	}
	e := g.waitLog("association refused", 5*time.Second, "error", "too many open files")
	t.Logf("one descriptor free: sctpguard logged %q: %v", "association refused", e["error"])
	e = g.waitLog("accept", 5*time.Second, "error", "no file descriptor")
	t.Logf("none free: sctpguard logged %q: %v", "accept", e["error"])
	if err := unix.Prlimit(g.pid(), unix.RLIMIT_NOFILE, &old, nil); err != nil {
		t.Fatal(err)
	}
	c := dial(t, g.addr, faultOpts)
	echoRound(t, c, 20)
	if st := guardStatus(t, g); len(st.Associations) != 4 {
		t.Errorf("status lists %d associations after the limit was raised, want 4", len(st.Associations))
	}
}

// refusedAssociation connects to addr and returns nil if the association is
// aborted, during the connect or after. An ABORT that overtakes the connect's
// wake-up reads as ECONNRESET or ECONNREFUSED from connect itself.
func refusedAssociation(t *testing.T, addr netip.AddrPort) error {
	t.Helper()
	c, err := sctpsock.Dial(ctxFor(t, 20*time.Second), nil, []netip.AddrPort{addr}, faultOpts)
	if err != nil {
		if errors.Is(err, sctpsock.ErrAborted) || errors.Is(err, unix.ECONNREFUSED) {
			return nil
		}
		return fmt.Errorf("connect: %w, want ABORT", err)
	}
	defer c.Close()
	if _, err := readEnd(c, 20*time.Second); !errors.Is(err, sctpsock.ErrAborted) {
		return fmt.Errorf("the application saw %v, want ABORT", err)
	}
	return nil
}

// freeDescriptors lists the lowest descriptor numbers process pid has free: with
// RLIMIT_NOFILE at the n-th of them, it has n descriptors left to open.
func freeDescriptors(t *testing.T, pid int) []int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	used := map[int]bool{}
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			t.Fatalf("/proc/%d/fd/%s", pid, e.Name())
		}
		used[n] = true
	}
	var free []int
	for n := 0; len(free) < 4; n++ {
		if !used[n] {
			free = append(free, n)
		}
	}
	return free
}
