package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sctpguard/sctpguard/admin"
	"github.com/sctpguard/sctpguard/bench/internal/child"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// guardConfig is sctpguard's configuration: one relay with the default
// association quota. quota.global is raised because every association reserves
// a guaranteed minimum of it in each direction (see the quota package), and the
// default 256 MiB admits about 2,000 associations.
const guardConfig = `
relay "scale" {
  listen   = ["127.0.0.1:%d"]
  upstream = [%q]
  connect_timeout = "60s"
}
quota {
  global = "4GiB"
}
admin {
  socket = %q
}
metrics {
  listen = %q
}
log {
  level = "warn"
}
`

// result is what one run measured.
type result struct {
	n             int
	setup         time.Duration
	rssBase, rss  int64 // sctpguard's VmRSS before any association and with all idle
	threads       int64
	listed        int           // associations in sctpguard's status
	statusTook    time.Duration // to answer that status
	scrapeTook    time.Duration // to answer GET /metrics, the median of scrapes
	kernelKnown   int           // associations whose kernel bytes the status shows
	before, after int           // associations that relayed a message before and after idling
	failed        int           // associations that did not relay
	idle          time.Duration
	firstFailure  error
}

// measure opens s.n associations through sctpguard to an echo peer and reads
// what they cost.
func measure(ctx context.Context, s settings, logf func(string, ...any)) (*result, error) {
	dir, err := os.MkdirTemp("", "scale")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	echo, err := startEcho()
	if err != nil {
		return nil, err
	}
	defer echo.Close()
	g, front, err := startGuard(ctx, s.guard, dir, echo.Addrs()[0])
	if err != nil {
		return nil, err
	}
	defer g.Stop(30 * time.Second)
	r := &result{n: s.n, idle: s.idle}
	if r.rssBase, _, err = usage(g); err != nil {
		return nil, err
	}
	logf("opening %d associations, %d at a time", s.n, s.conc)
	start := time.Now()
	conns, err := dialAll(ctx, front, s.n, s.conc)
	defer closeAll(conns)
	if err != nil {
		return nil, err
	}
	logf("%d associations up in %v; relaying one message on each", s.n, time.Since(start).Round(time.Millisecond))
	r.before, r.firstFailure = pingAll(conns, s.conc, 0)
	r.setup = time.Since(start) // until each has relayed: sctpguard pairs after accept
	logf("%d relayed; idling %v", r.before, s.idle)
	sleep(ctx, s.idle)
	if r.rss, r.threads, err = usage(g); err != nil {
		return nil, err
	}
	if s.pprof != "" {
		if err := child.SaveProfile(ctx, filepath.Join(dir, "admin.sock"), "heap", s.pprof); err != nil {
			return nil, err
		}
	}
	var cpu chan error
	if s.pprof != "" {
		cpu = make(chan error, 1)
		go func() {
			cpu <- child.SaveProfile(ctx, filepath.Join(dir, "admin.sock"), "profile?seconds=3", s.pprof+".cpu")
		}()
		time.Sleep(100 * time.Millisecond)
	}
	fetched := time.Now()
	st, err := admin.Fetch(ctx, filepath.Join(dir, "admin.sock"))
	if err != nil {
		return nil, fmt.Errorf("sctpguard status: %w", err)
	}
	r.statusTook = time.Since(fetched)
	r.listed = len(st.Associations)
	for _, a := range st.Associations {
		if a.KernelToUpstream >= 0 && a.KernelToFront >= 0 {
			r.kernelKnown++
		}
	}
	if r.scrapeTook, err = scrapeTime(ctx, metricsAddr); err != nil {
		return nil, err
	}
	if cpu != nil {
		if err := <-cpu; err != nil {
			return nil, err
		}
	}
	var ferr error
	r.after, ferr = pingAll(conns, s.conc, 1)
	if r.firstFailure == nil {
		r.firstFailure = ferr
	}
	r.failed = 2*s.n - r.before - r.after
	if r.failed > 0 {
		logf("sctpguard's log:%s", g.Tail())
	}
	return r, g.Check()
}

func startGuard(ctx context.Context, bin, dir string, to netip.AddrPort) (*child.Child, netip.AddrPort, error) {
	port, err := child.FreePort()
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	text := fmt.Sprintf(guardConfig, port, to, filepath.Join(dir, "admin.sock"), metricsAddr)
	g, err := child.StartGuard(ctx, bin, dir, text, port)
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	sleep(ctx, time.Second) // let start-up allocations settle before the baseline
	return g, netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), port), nil
}

// usage is the process's resident memory and OS thread count.
func usage(c *child.Child) (rss, threads int64, err error) {
	st, err := child.Status(c.Pid(), "VmRSS", "Threads")
	if err != nil {
		return 0, 0, err
	}
	return st["VmRSS"], st["Threads"], nil
}

// dialAll opens n associations to addr, conc at a time.
func dialAll(ctx context.Context, addr netip.AddrPort, n, conc int) ([]*sctpsock.Conn, error) {
	conns := make([]*sctpsock.Conn, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(conc)
	for i := range conns {
		g.Go(func() error {
			dctx, cancel := context.WithTimeout(gctx, time.Minute)
			defer cancel()
			c, err := sctpsock.Dial(dctx, nil, []netip.AddrPort{addr}, sctpsock.Options{NoDelay: true, InitTimeout: time.Minute})
			if err != nil {
				return fmt.Errorf("association %d of %d: %w", i+1, n, err)
			}
			conns[i] = c
			return nil
		})
	}
	return conns, g.Wait()
}

func closeAll(conns []*sctpsock.Conn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

// pingAll sends one numbered message on every association and checks it comes
// back; it returns how many did, and the first failure.
func pingAll(conns []*sctpsock.Conn, conc, round int) (int, error) {
	var ok atomic.Int64
	var first atomic.Value
	var g errgroup.Group
	g.SetLimit(conc)
	for i, c := range conns {
		g.Go(func() error {
			if err := ping(c, fmt.Sprintf("association %d round %d", i, round)); err != nil {
				first.CompareAndSwap(nil, err)
				return nil
			}
			ok.Add(1)
			return nil
		})
	}
	g.Wait()
	err, _ := first.Load().(error)
	return int(ok.Load()), err
}

func ping(c *sctpsock.Conn, text string) error {
	if err := c.WriteMsg(sctpsock.Msg{Data: []byte(text), PPID: 1}); err != nil {
		return fmt.Errorf("%s: write: %w", text, err)
	}
	c.SetReadDeadline(time.Now().Add(time.Minute))
	buf := make([]byte, 128)
	for {
		m, err := c.ReadMsg(buf)
		if err != nil {
			return fmt.Errorf("%s: read: %w", text, err)
		}
		if m.Notification != nil {
			continue
		}
		if !bytes.Equal(m.Data, []byte(text)) {
			return fmt.Errorf("%s: got %q back", text, m.Data)
		}
		return nil
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// metricsAddr is where the measured sctpguard serves its metrics.
const metricsAddr = "127.0.0.1:19368"

// scrapeTime is the median time of 5 scrapes of GET /metrics. Before a scrape
// read the relays' counters it took the same snapshot as status, so the status
// time beside it is what a scrape cost then.
func scrapeTime(ctx context.Context, addr string) (time.Duration, error) {
	var took []time.Duration
	for range 5 {
		start := time.Now()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
		if err != nil {
			return 0, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, fmt.Errorf("scrape metrics: %w", err)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("scrape metrics: %d %v", resp.StatusCode, err)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	return took[len(took)/2], nil
}
