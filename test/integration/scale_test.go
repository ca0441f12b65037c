package integration

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sctpguard/sctpguard/sctpsock"
	"github.com/sctpguard/sctpguard/test/echopeer"
)

// TestThousandAssociations opens 1,000 associations through one sctpguard process,
// holds them all open, relays messages on every one, and checks the process's OS
// thread count stays under 50.
func TestThousandAssociations(t *testing.T) {
	const n, msgs = 1000, 5
	up := startPeer(t, sctpsock.Options{}, echopeer.Serve)
	// An application's connect completes in the kernel before sctpguard has
	// connected upstream: on a loaded host more than the default 256 may wait
	// for their upstream connect, which this test is not about.
	g := startGuard(t, relayConfig(up.addr, fmt.Sprintf("max_connecting = %d", n)))
	conns := make([]*sctpsock.Conn, n)
	var eg errgroup.Group
	eg.SetLimit(32)
	for i := range conns {
		eg.Go(func() error {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c, err := sctpsock.Dial(ctx, nil, []netip.AddrPort{g.addr}, sctpsock.Options{NoDelay: true})
			conns[i] = c
			return err
		})
	}
	err := eg.Wait()
	t.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- pingPong(c, i, msgs)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	threads := threadCount(t, g.pid())
	t.Logf("%d associations open and relayed %d messages each way; sctpguard has %d OS threads", n, msgs, threads)
	if threads >= 50 {
		t.Fatalf("sctpguard runs %d OS threads with %d associations, want < 50", threads, n)
	}
	for _, c := range conns {
		c.Shutdown()
	}
	ended := 0
	eventually(t, fmt.Sprintf("every one of %d associations to log its end", n), 2*time.Minute, func() bool {
		ended = g.countLog("association ended")
		return ended >= n
	}, func() string { return fmt.Sprintf("%d did", ended) })
}

// pingPong sends msgs numbered messages on c and checks each comes back.
func pingPong(c *sctpsock.Conn, id, msgs int) error {
	buf := make([]byte, 256)
	for j := range msgs {
		want := []byte(fmt.Sprintf("assoc %d message %d", id, j))
		if err := c.WriteMsg(sctpsock.Msg{Data: want, Stream: uint16(j % 4)}); err != nil {
			return fmt.Errorf("assoc %d write %d: %w", id, j, err)
		}
		c.SetReadDeadline(time.Now().Add(time.Minute))
		got, err := readData(c, buf)
		if err != nil {
			return fmt.Errorf("assoc %d read %d: %w", id, j, err)
		}
		if !bytes.Equal(got.Data, want) {
			return fmt.Errorf("assoc %d: got %q, want %q", id, got.Data, want)
		}
	}
	return nil
}

// threadCount reads Threads from /proc/PID/status.
func threadCount(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no Threads line in /proc/PID/status")
	return 0
}
