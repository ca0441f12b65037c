package integration

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/sctpsock"
	"github.com/sctpguard/sctpguard/test/echopeer"
)

var soakFor = flag.Duration("soak", 20*time.Second, "how long TestSoak runs its traffic (e.g. -soak 30m)")

// TestSoak runs mixed traffic for -soak (20s by default, longer by flag):
// associations open, relay a random number of messages of random sizes on random
// streams, and end with SHUTDOWN or ABORT, while SIGHUP reloads a changing quota
// every 2 s. Afterwards sctpguard's goroutines and held bytes return to their
// baseline and its RSS stays near it.
func TestSoak(t *testing.T) {
	const workers = 8
	up := startPeer(t, sctpsock.Options{OutStreams: 8, MaxInStreams: 8}, echopeer.Serve)
	cfgWith := func(quota string) string {
		return relayConfig(up.addr, fmt.Sprintf("streams = 8\n  quota { association = %q }", quota)) +
			`metrics { listen = "127.0.0.1:19369" }`
	}
	g := startGuard(t, cfgWith("1MiB"))
	url := fmt.Sprint(g.waitLog("started", 10*time.Second)["metrics"])
	soakRound(t, g.addr, rand.New(rand.NewPCG(1, 1))) // warm up pools and caches
	waitIdle(t, g)
	baseGo, baseRSS := goroutines(t, url), rss(g.pid())

	stop := time.Now().Add(*soakFor)
	var rounds, aborted atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for time.Now().Before(stop) && !t.Failed() {
				if soakRound(t, g.addr, rng) {
					aborted.Add(1)
				}
				rounds.Add(1)
			}
		}()
	}
	quotas := []string{"1MiB", "1536KiB", "2MiB"}
	for i := 0; time.Now().Before(stop); i++ {
		time.Sleep(2 * time.Second)
		g.rewrite(t, cfgWith(quotas[i%len(quotas)]))
		g.signal(t, syscall.SIGHUP)
	}
	wg.Wait()
	waitIdle(t, g)
	endGo, endRSS := goroutines(t, url), rss(g.pid())
	t.Logf("%v: %d associations (%d aborted), %d reloads; goroutines %d -> %d, RSS %.1f -> %.1f MiB",
		*soakFor, rounds.Load(), aborted.Load(), g.countLog("configuration reloaded"), baseGo, endGo,
		float64(baseRSS)/(1<<20), float64(endRSS)/(1<<20))
	if endGo > baseGo+2 {
		t.Errorf("goroutines grew from %d to %d with no association open", baseGo, endGo)
	}
	if endRSS > baseRSS+32<<20 {
		t.Errorf("RSS grew from %d to %d bytes with no association open", baseRSS, endRSS)
	}
	if n := g.countLog("reload refused; the running configuration stays"); n > 0 {
		t.Errorf("%d reloads refused", n)
	}
}

// soakRound runs one association: random messages echoed and checked, then
// SHUTDOWN, or ABORT one time in ten; it reports whether it aborted.
func soakRound(t *testing.T, addr netip.AddrPort, rng *rand.Rand) bool {
	c, err := sctpsock.Dial(ctxFor(t, 20*time.Second), nil, []netip.AddrPort{addr}, sctpsock.Options{OutStreams: 8, MaxInStreams: 8, NoDelay: true})
	if err != nil {
		t.Errorf("dial: %v", err)
		return false
	}
	defer c.Close()
	buf := make([]byte, 8192)
	for i := range 1 + rng.IntN(100) {
		data := bytes.Repeat([]byte{byte(i)}, 1+rng.IntN(4096))
		m := sctpsock.Msg{Data: data, Stream: uint16(rng.IntN(8)), PPID: uint32(i), Unordered: rng.IntN(4) == 0}
		if err := c.WriteMsg(m); err != nil {
			t.Errorf("write: %v", err)
			return false
		}
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		got, err := readData(c, buf)
		if err != nil || !bytes.Equal(got.Data, data) || got.PPID != m.PPID || got.Stream != m.Stream {
			t.Errorf("echo %d: %v (got %d bytes on stream %d, PPID %d)", i, err, len(got.Data), got.Stream, got.PPID)
			return false
		}
	}
	if rng.IntN(10) == 0 {
		c.Abort()
		return true
	}
	c.Shutdown()
	if err := awaitShutdown(c, 20*time.Second); err != nil {
		t.Errorf("after SHUTDOWN: %v", err)
	}
	return false
}

// awaitShutdown reads until the association that c shut down has ended: the
// SHUTDOWN_COMP event (the socket that sent SHUTDOWN never reads EOF).
func awaitShutdown(c *sctpsock.Conn, timeout time.Duration) error {
	c.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 8192)
	for {
		m, err := c.ReadMsg(buf)
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return err
		case m.Notification != nil && m.Notification.AssocChange != nil && m.Notification.AssocChange.State == sctpsock.ShutdownComplete:
			return nil
		}
	}
}

// waitIdle waits until sctpguard holds no association and no charge.
func waitIdle(t *testing.T, g *guard) {
	t.Helper()
	eventually(t, "no association and nothing held", 30*time.Second, func() bool {
		st := guardStatus(t, g)
		return len(st.Associations) == 0 && st.Global.Used == 0
	})
}

// goroutines reads go_goroutines from sctpguard's /metrics.
func goroutines(t *testing.T, url string) int {
	t.Helper()
	for _, line := range strings.Split(scrape(t, url), "\n") {
		if v, ok := strings.CutPrefix(line, "go_goroutines "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("go_goroutines %q: %v", v, err)
			}
			return int(n)
		}
	}
	t.Fatal("no go_goroutines in /metrics")
	return 0
}
