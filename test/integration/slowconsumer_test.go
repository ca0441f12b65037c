package integration

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// TestSlowConsumer: a consumer that reads one message every few milliseconds, with
// the seed's 8 MiB receive buffer, so that it announces a reopened window only
// after reading 1 MiB of payload — far more than a 1 MiB quota admits of 1-byte or
// 1 KiB messages. Through sctpguard its throughput must stay within 0.9× of direct
// and no two messages may be more than maxSlowGap apart: the gate must not wait on
// the stale window (it probes it). In sctpguard's namespace and in another one.
func TestSlowConsumer(t *testing.T) {
	for _, where := range []string{sameNamespace, otherNamespace} {
		for _, size := range []int{1, 1024} {
			t.Run(fmt.Sprintf("%s/%dB", where, size), func(t *testing.T) { slowConsumer(t, where, size) })
		}
	}
}

// slowFor is how long each run reads; slowEvery how long the consumer sleeps
// between two reads.
const (
	slowFor    = 8 * time.Second
	slowEvery  = 3 * time.Millisecond
	maxSlowGap = time.Second
)

func slowConsumer(t *testing.T, where string, size int) {
	results := make(chan slowResult, 2)
	up := startReceivers(t, where, sctpsock.Options{RecvBuffer: 8 << 20}, func(c *sctpsock.Conn) {
		results <- readSlowly(c, slowFor)
	})
	g := startGuard(t, relayConfig(up.addr, `
  quota {
    association = "1MiB"
  }`))
	var direct, relayed slowResult
	for _, run := range []struct {
		name string
		to   *slowResult
	}{{"direct", &direct}, {"sctpguard", &relayed}} {
		to := up.addr
		if run.name == "sctpguard" {
			to = g.addr
		}
		c := dial(t, to, sctpsock.Options{NoDelay: true})
		stop := make(chan struct{})
		go produce(c, size, stop)
		*run.to = <-results
		close(stop)
		c.Abort()
		t.Logf("%s: %d messages in %v (%.0f/s), longest wait between two %v", run.name, run.to.n, slowFor,
			float64(run.to.n)/slowFor.Seconds(), run.to.gap)
	}
	if direct.n == 0 {
		t.Fatal("the consumer read nothing directly")
	}
	if ratio := float64(relayed.n) / float64(direct.n); ratio < 0.9 {
		t.Errorf("through sctpguard the consumer read %.2fx what it read directly, want at least 0.9x", ratio)
	}
	if relayed.gap > maxSlowGap {
		t.Errorf("through sctpguard the consumer waited %v between two messages, more than %v", relayed.gap, maxSlowGap)
	}
}

type slowResult struct {
	n   int
	gap time.Duration
}

// readSlowly reads one message every slowEvery for d and returns how many, and the
// longest wait between two (the sleeps included). The reads keep to a schedule
// (the n-th at n × slowEvery), catching up after a late one, so that what the
// consumer reads measures what reached it, not how late the VM woke it: a
// relay's goroutines share the machine's CPUs with the consumer, and a sleep
// that overshoots would otherwise count against the relay.
func readSlowly(c *sctpsock.Conn, d time.Duration) slowResult {
	defer c.Close()
	buf := make([]byte, 4096)
	var r slowResult
	start, last := time.Now(), time.Time{}
	next := start
	for time.Since(start) < d {
		c.SetReadDeadline(start.Add(d))
		m, err := c.ReadMsg(buf)
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				r.n = -r.n - 1 // an error: no run may count it as a success
			}
			return r
		}
		if m.Notification != nil {
			continue
		}
		now := time.Now()
		if !last.IsZero() {
			r.gap = max(r.gap, now.Sub(last))
		}
		last = now
		r.n++
		next = next.Add(slowEvery)
		time.Sleep(time.Until(next))
	}
	return r
}

// produce sends messages of size bytes as fast as c takes them, until stop.
func produce(c *sctpsock.Conn, size int, stop <-chan struct{}) {
	data := make([]byte, size)
	for {
		select {
		case <-stop:
			return
		default:
		}
		c.SetWriteDeadline(time.Now().Add(time.Second))
		if err := c.WriteMsg(sctpsock.Msg{Data: data}); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return
		}
	}
}
