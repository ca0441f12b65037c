package integration

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// Controls an operator sets per relay: stall_timeout ends an association whose
// consumer stopped, max_connecting bounds the associations waiting for their
// upstream connect, and a budget that cannot admit another association refuses
// it before sctpguard sends an INIT upstream.

// stallQuota is the relay settings of the stall tests: 1 KiB messages fill the
// quota after ~85 messages.
const stallQuota = "max_message = \"64KiB\"\n  quota { association = \"260KiB\" }\n  "

// TestStallTimeout: with stall_timeout = "2s", an upstream that stops reading
// while the application floods it gets its association aborted: both the
// application and the upstream peer see ABORT, and sctpguard logs and counts the
// reason stalled. A consumer that reads slowly, with the quota full most of the
// time, is not aborted; and without stall_timeout a stalled consumer is held as
// long as it stalls.
func TestStallTimeout(t *testing.T) {
	const timeout = 2 * time.Second
	t.Run("stalled", func(t *testing.T) {
		release := make(chan struct{})
		up := startFlowPeer(t, release)
		g := startGuard(t, relayConfig(up.addr, stallQuota+`stall_timeout = "2s"`))
		s := startSender(dial(t, g.addr, sctpsock.Options{NoDelay: true}), 1024, nil)
		start := time.Now()
		e := g.waitLog("association ended", 60*time.Second, "reason", "stalled")
		t.Logf("aborted %v after the flood began (stall_timeout 2s), %d messages sent; %v",
			time.Since(start).Round(time.Millisecond), s.sent.Load(), e)
		assertAborted(t, up, s, release)
		// Linux reports an ABORT's error once, to the first read or write: here,
		// the application's blocked send.
		select {
		case <-s.done:
			if !errors.Is(s.err, sctpsock.ErrAborted) {
				t.Errorf("application's send failed with %v, want ABORT", s.err)
			}
		default: // assertAborted said so
		}
		if w := g.findLog("aborting association", "reason", "stalled", "error", "nothing released for"); w == nil {
			t.Error("no log line says why the association was aborted")
		}
		if n := guardStatus(t, g).Relays[0].Totals.Ended["stalled"]; n != 1 {
			t.Errorf("status counts %d associations ended stalled, want 1", n)
		}
	})
	t.Run("slow", func(t *testing.T) {
		// One message read every 5 ms: slower than the flood, so the quota is
		// full most of the time, but the consumer moves.
		var arrived atomic.Int64
		ended := make(chan error, 1)
		up := startPeer(t, sctpsock.Options{}, func(c *sctpsock.Conn) {
			defer c.Close()
			buf := make([]byte, 64<<10)
			for {
				if _, err := readData(c, buf); err != nil {
					ended <- err
					return
				}
				arrived.Add(1)
				time.Sleep(5 * time.Millisecond)
			}
		})
		g := startGuard(t, relayConfig(up.addr, stallQuota+`stall_timeout = "2s"`))
		c := dial(t, g.addr, sctpsock.Options{NoDelay: true})
		stop := make(chan struct{})
		s := startSender(c, 1024, stop)
		defer func() { close(stop); <-s.done }()
		// The test is that nothing ends the association: there is no event to
		// await, so it watches for a bounded 5 × stall_timeout.
		time.Sleep(4 * timeout)
		before := arrived.Load()
		time.Sleep(timeout)
		st := guardStatus(t, g)
		if len(st.Associations) != 1 || st.Associations[0].State != "ESTABLISHED" {
			t.Fatalf("status %+v; want one ESTABLISHED association", st.Associations)
		}
		blocked := st.Associations[0].Blocked
		t.Logf("%v of slow reading: %d messages arrived, %d in the last %v; writers blocked on the quota for %v",
			5*timeout, arrived.Load(), arrived.Load()-before, timeout, blocked.Round(time.Millisecond))
		if blocked < timeout {
			t.Fatalf("writers blocked on the quota for %v of %v, want more than stall_timeout: the consumer was not slow enough to test", blocked, 5*timeout)
		}
		if arrived.Load() == before {
			t.Errorf("no message arrived in the last %v", timeout)
		}
		if n := g.countLog("association ended"); n != 0 {
			t.Errorf("%d associations ended while the consumer read, want none", n)
		}
		select {
		case err := <-ended:
			t.Errorf("the slow consumer's association ended: %v", err)
		default:
		}
	})
	t.Run("off", func(t *testing.T) {
		release := make(chan struct{})
		up := startFlowPeer(t, release)
		g := startGuard(t, relayConfig(up.addr, stallQuota))
		c := dial(t, g.addr, sctpsock.Options{NoDelay: true})
		stop := make(chan struct{})
		s := startSender(c, 1024, stop)
		waitBlockedSender(t, s)
		// Nothing must end the stalled association: a bounded wait of 3 ×
		// what stall_timeout would have been, then status must show it.
		time.Sleep(3 * timeout)
		st := guardStatus(t, g)
		if len(st.Associations) != 1 || st.Associations[0].State != "ESTABLISHED" {
			t.Fatalf("status %+v after %v of stall without stall_timeout; want one ESTABLISHED association", st.Associations, 3*timeout)
		}
		close(release)
		sent := s.sent.Load()
		eventually(t, "messages to flow again", 30*time.Second, func() bool { return up.arrived.Load() > sent })
		close(stop)
		<-s.done
		if n := g.countLog("association ended"); n != 0 {
			t.Errorf("%d associations ended, want none", n)
		}
	})
}

// TestConnectingBounded: the upstream host drops everything (netem loss 100%), and
// 100 applications connect within seconds, with max_connecting = 8 and a connect
// timeout longer than the test. The first 8 wait for their upstream connect; every
// other one is aborted at once, counted as too_many_connecting, and costs sctpguard
// no goroutine and no descriptor. Then, toward a reachable upstream, a global
// budget whose reserves two associations hold refuses a third before any INIT:
// the upstream host sees no new association.
func TestConnectingBounded(t *testing.T) {
	const n, limit = 100, 8
	h := newTwoHosts(t)
	var p *echoingPeer
	h.in(h.peer, func() { p = startEchoingPeer(t, peerAddrs(0), faultOpts, nil) })
	up := peerAddrs(p.ln.Addrs()[0].Port())

	t.Run("unreachable", func(t *testing.T) {
		silentNeighbours(t, h)
		h.setLoss(0, 100)
		h.setLoss(1, 100)
		defer h.setLoss(0, 0)
		defer h.setLoss(1, 0)
		var g *guard
		h.in(h.guard, func() {
			g = startGuard(t, multiHomedConfig(up, fmt.Sprintf("streams = 4\n  connect_timeout = \"5m\"\n  max_connecting = %d", limit)))
		})
		defer g.stop() // before the loss is gone, or its connects would reach the peer
		g.waitLog("started", 20*time.Second)
		fds0, gr0, rss0 := fdCount(t, g.pid()), guardGoroutines(t, g), rssOf(t, g.pid())
		var conns []*sctpsock.Conn
		abortedEarly := 0 // aborted before the application's connect returned
		start := time.Now()
		h.in(h.guard, func() {
			for range n {
				c, err := sctpsock.Dial(ctxFor(t, 20*time.Second), nil, []netip.AddrPort{g.addr}, faultOpts)
				switch {
				// An ABORT that overtakes the connect's wake-up reads as a refusal.
				case errors.Is(err, sctpsock.ErrAborted), errors.Is(err, unix.ECONNREFUSED):
					abortedEarly++
				case err != nil:
					t.Fatalf("connect to sctpguard: %v", err)
				default:
					t.Cleanup(func() { c.Close() })
					conns = append(conns, c)
				}
			}
		})
		took := time.Since(start)
		eventually(t, "the associations beyond max_connecting refused", 30*time.Second, func() bool {
			return guardStatus(t, g).Relays[0].Totals.Refused >= n-limit
		})
		fds, gr, rss := fdCount(t, g.pid()), guardGoroutines(t, g), rssOf(t, g.pid())
		tot := guardStatus(t, g).Relays[0].Totals
		t.Logf("%d associations in %v (%d aborted before the connect returned): %d accepted, %d refused (%v); "+
			"descriptors %d → %d, goroutines %d → %d, RSS %d → %d KiB", n, took.Round(time.Millisecond), abortedEarly,
			tot.Accepted, tot.Refused, tot.Ended, fds0, fds, gr0, gr, rss0>>10, rss>>10)
		if tot.Accepted != n || tot.Ended["too_many_connecting"] != n-limit {
			t.Errorf("status: %d accepted, %d ended too_many_connecting; want %d and %d", tot.Accepted, tot.Ended["too_many_connecting"], n, n-limit)
		}
		// Each association still connecting holds its front socket, its upstream
		// socket and one goroutine (two while it waits in the kernel's connect).
		if fds > fds0+2*limit+2 {
			t.Errorf("sctpguard holds %d descriptors with %d associations connecting, %d before; want at most %d more", fds, limit, fds0, 2*limit+2)
		}
		if gr > gr0+2*limit+4 {
			t.Errorf("sctpguard runs %d goroutines with %d associations connecting, %d before; want at most %d more", gr, limit, gr0, 2*limit+4)
		}
		if abortedEarly == 0 { // the last one was refused at once
			if _, err := readEnd(conns[n-1], 10*time.Second); !errors.Is(err, sctpsock.ErrAborted) {
				t.Errorf("the last application saw %v, want ABORT", err)
			}
		}
		g.findLogOrFail(t, "association refused", "reason", "too_many_connecting")
	})

	t.Run("budget exhausted", func(t *testing.T) {
		var g *guard
		h.in(h.guard, func() {
			cfg := multiHomedConfig(up, "streams = 4\n  max_message = \"1KiB\"\n  quota { association = \"64KiB\" }")
			g = startGuard(t, cfg+"quota {\n  global = \"256KiB\"\n}\n")
		})
		g.waitLog("started", 20*time.Second)
		var live []*sctpsock.Conn
		h.in(h.guard, func() {
			for range 2 {
				c := dial(t, g.addr, faultOpts)
				echoRound(t, c, 20)
				live = append(live, c)
			}
		})
		before := passiveEstabs(t, h)
		h.in(h.guard, func() {
			if err := refusedAssociation(t, g.addr); err != nil {
				t.Errorf("third association: %v", err)
			}
		})
		g.waitLog("association refused", 10*time.Second, "error", "exhausted")
		if got := passiveEstabs(t, h) - before; got != 0 {
			t.Errorf("the upstream host accepted %d associations for the refused one, want 0 (no INIT)", got)
		}
		if got := guardStatus(t, g).Relays[0].Totals.Ended["quota_exhausted"]; got != 1 {
			t.Errorf("status counts %d associations ended quota_exhausted, want 1", got)
		}
		for _, c := range live {
			echoRound(t, c, 20)
		}
	})
}

// silentNeighbours makes the guard's host know the peer's link addresses for
// good, so that with every packet lost the peer is silent: without them, address
// resolution fails after a few seconds and the kernel reports "no route to host"
// to every connect, which ends it early.
func silentNeighbours(t *testing.T, h *twoHosts) {
	t.Helper()
	for path := range hostPaths {
		n := &netlink.Neigh{
			LinkIndex:    h.link(path, false).Attrs().Index,
			State:        netlink.NUD_PERMANENT,
			IP:           hostPaths[path][1].Addr().AsSlice(),
			HardwareAddr: h.link(path, true).Attrs().HardwareAddr,
		}
		h.must("neighbour "+n.IP.String(), h.gh.NeighSet(n))
	}
}

// passiveEstabs is how many associations the upstream host has accepted
// (SctpPassiveEstabs in its namespace).
func passiveEstabs(t *testing.T, h *twoHosts) int64 {
	t.Helper()
	var n int64
	h.in(h.peer, func() { n = sctpCounters(t, "/proc/thread-self/net/sctp/snmp")["SctpPassiveEstabs"] })
	return n
}

// fdCount is how many descriptors process pid holds open.
func fdCount(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// rssOf is the resident memory of process pid, in bytes.
func rssOf(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// guardGoroutines is how many goroutines sctpguard runs, from the goroutine
// profile on its admin socket.
func guardGoroutines(t *testing.T, g *guard) int {
	t.Helper()
	sock := filepath.Join(g.dir, "admin.sock")
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}}}
	resp, err := c.Get("http://sctpguard/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatalf("goroutine profile: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	if sc.Scan() {
		var total int
		if _, err := fmt.Sscanf(sc.Text(), "goroutine profile: total %d", &total); err == nil {
			return total
		}
		t.Fatalf("goroutine profile begins %q", sc.Text())
	}
	t.Fatalf("goroutine profile: empty (%s)", resp.Status)
	return 0
}
