package integration

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sctpguard/sctpguard/sctpsock"
	"github.com/sctpguard/sctpguard/test/echopeer"
)

// TestIdleMemoryAfterBurst: what sctpguard holds for an idle association comes
// back to what it held before a burst once the burst is over. Each of n
// associations relays a burst of msgs messages that its client reads back only
// after a second, so that both directions' quotas fill, their pipes wait, read
// ahead and grow their in-flight records; the echo peer is on another host
// (netns), where a stale window leaves a few messages charged after it has
// read everything. The test prints sctpguard's live heap (after two garbage
// collections, so that pooled buffers are gone) and RSS per association,
// before and after.
//
//	clients ──lo── sctpguard ══ veth ══ echo peer (netns consumer)
func TestIdleMemoryAfterBurst(t *testing.T) {
	const n, msgs, size = 50, 1500, 1000
	h := newConsumerHost(t)
	up := h.startPeer(sctpsock.Options{NoDelay: true}, echopeer.Serve)
	g := startGuard(t, strings.Replace(relayConfig(up.addr, ""), `level  = "debug"`, `level  = "info"`, 1))
	base, baseRSS := guardHeap(t, g), rssOf(t, g.pid())
	conns := dialN(t, g, n)
	for i, c := range conns {
		if err := pingPong(c, i, 1); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(2 * time.Second) // the gates release what the pings held
	idle, idleRSS := guardHeap(t, g), rssOf(t, g.pid())

	start := time.Now()
	var eg errgroup.Group
	for i, c := range conns {
		eg.Go(func() error { return burst(c, i, msgs, size) })
	}
	if err := eg.Wait(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d associations relayed %d messages of %d bytes each way in %v", n, msgs, size, time.Since(start).Round(time.Millisecond))
	time.Sleep(2 * time.Second) // idle again
	after, afterRSS := guardHeap(t, g), rssOf(t, g.pid())

	per := func(v, from int64) float64 { return float64(v-from) / n / 1024 }
	t.Logf("sctpguard per idle association: heap %.1f KiB before the burst, %.1f KiB after; RSS %.1f KiB before, %.1f KiB after (process heap %d → %d → %d B)",
		per(idle, base), per(after, base), per(idleRSS, baseRSS), per(afterRSS, baseRSS), base, idle, after)
	if grew := per(after, idle); grew > burstKeepKiB {
		t.Errorf("an idle association holds %.1f KiB more heap after the burst than before (%.1f KiB); the largest holders:\n%s",
			grew, per(idle, base), heapTop(t, g, 12))
	}
}

// burstKeepKiB is how much more heap an idle association may hold after a burst
// than before it, in KiB: the in-flight ring of the messages a stale window
// still hides (ringKeep entries of 16 bytes, 1 KiB, in each direction) and the
// goroutines the runtime keeps for reuse. Before 2026-12-07 it held ~45 KiB
// more: every idle socket kept alive the read buffer it last read into and the
// array it last wrote from (a 64 KiB pooled buffer, a backlog of up to a
// quarter of the quota).
const burstKeepKiB = 4

// dialN opens n associations to g.
func dialN(t *testing.T, g *guard, n int) []*sctpsock.Conn {
	t.Helper()
	conns := make([]*sctpsock.Conn, n)
	for i := range conns {
		conns[i] = dial(t, g.addr, sctpsock.Options{NoDelay: true})
	}
	return conns
}

// burst writes msgs numbered messages of size bytes on c and, from a second
// after it began, reads their echoes, checking their order.
func burst(c *sctpsock.Conn, id, msgs, size int) error {
	wrote := make(chan error, 1)
	go func() { // burst-writer: ends once every message is written
		data := make([]byte, size)
		for j := range msgs {
			data[0], data[1] = byte(j), byte(j>>8)
			if err := c.WriteMsg(sctpsock.Msg{Data: data, Stream: uint16(j % 4)}); err != nil {
				wrote <- fmt.Errorf("assoc %d write %d: %w", id, j, err)
				return
			}
		}
		wrote <- nil
	}()
	time.Sleep(time.Second)
	buf := make([]byte, 2*size)
	next := [4]int{0, 1, 2, 3}
	for j := range msgs {
		c.SetReadDeadline(time.Now().Add(2 * time.Minute))
		m, err := c.ReadMsg(buf)
		for err == nil && m.Notification != nil {
			m, err = c.ReadMsg(buf)
		}
		if err != nil {
			return fmt.Errorf("assoc %d read %d: %w", id, j, err)
		}
		got := int(m.Data[0]) | int(m.Data[1])<<8
		if s := m.Stream; s > 3 || got != next[s] || len(m.Data) != size {
			return fmt.Errorf("assoc %d: message %d on stream %d (%d bytes), want %d", id, got, s, len(m.Data), next[s%4])
		}
		next[m.Stream] += 4
	}
	return <-wrote
}

// adminGet fetches path from g's admin socket.
func adminGet(t *testing.T, g *guard, path string) []byte {
	t.Helper()
	sock := filepath.Join(g.dir, "admin.sock")
	c := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}}}
	resp, err := c.Get("http://sctpguard" + path)
	if err != nil {
		t.Fatalf("admin %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("admin %s: %s %v", path, resp.Status, err)
	}
	return b
}

// heapTop is the top allocation sites of g's live heap, by bytes, each with
// the first frames of its stack, from the text heap profile (sampled: what it
// shows is a share of the heap, in proportion).
func heapTop(t *testing.T, g *guard, top int) string {
	t.Helper()
	type site struct {
		bytes int64
		stack []string
	}
	var sites []site
	for _, line := range strings.Split(string(adminGet(t, g, "/debug/pprof/heap?debug=1&gc=1")), "\n") {
		var objs, bytes int64
		if _, err := fmt.Sscanf(line, "%d: %d [", &objs, &bytes); err == nil && strings.Contains(line, "@") {
			sites = append(sites, site{bytes: bytes})
			continue
		}
		if f := strings.Fields(line); len(sites) > 0 && len(f) >= 3 && f[0] == "#" && len(sites[len(sites)-1].stack) < 4 {
			sites[len(sites)-1].stack = append(sites[len(sites)-1].stack, f[2])
		}
		if strings.HasPrefix(line, "# runtime.MemStats") {
			break
		}
	}
	slices.SortFunc(sites, func(a, b site) int { return int(b.bytes - a.bytes) })
	var b strings.Builder
	for _, s := range sites[:min(top, len(sites))] {
		fmt.Fprintf(&b, "  %9d B  %s\n", s.bytes, strings.Join(s.stack, " < "))
	}
	return b.String()
}

// guardHeap is sctpguard's live heap in bytes (HeapAlloc) after two garbage
// collections, from the heap profile on its admin socket: the first empties
// the buffer pools into their victim caches, the second frees those.
func guardHeap(t *testing.T, g *guard) int64 {
	t.Helper()
	var heap int64 = -1
	for range 2 {
		for _, line := range strings.Split(string(adminGet(t, g, "/debug/pprof/heap?debug=1&gc=1")), "\n") {
			if v, ok := strings.CutPrefix(line, "# HeapAlloc = "); ok {
				heap, _ = strconv.ParseInt(v, 10, 64)
			}
		}
	}
	if heap < 0 {
		t.Fatal("heap profile: no HeapAlloc line")
	}
	return heap
}
