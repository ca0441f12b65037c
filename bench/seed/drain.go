package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// resumeResult is what reading everything back found.
type resumeResult struct {
	msgs int64         // messages delivered, each checked
	took time.Duration // from the first read to the last message
	gap  time.Duration // the longest wait between two messages of one association
	err  error
}

// readResult is one receiving association's account.
type readResult struct {
	id   int   // the sender whose messages it carried; 0 if none arrived
	got  int64 // messages read, all in sequence
	last time.Time
	gap  time.Duration // the longest wait between two of its messages
	err  error
}

// drain reads every association until each sender's accepted messages have
// arrived, checking that each arrives exactly once and in order, and that
// nothing follows the last.
func drain(ctx context.Context, conns []*sctpsock.Conn, accepted []int64, timeout time.Duration) resumeResult {
	start := time.Now()
	deadline := start.Add(timeout)
	claimed := make([]atomic.Bool, len(accepted))
	results := make(chan readResult, len(conns))
	for _, c := range conns {
		go readBack(c, accepted, claimed, deadline, results)
	}
	want := 0
	var wantMsgs int64
	for _, a := range accepted {
		if a > 0 {
			want++
		}
		wantMsgs += a
	}
	cancel := func() {
		for _, c := range conns {
			c.SetReadDeadline(time.Unix(1, 0))
		}
	}
	if want == 0 {
		cancel()
	}
	var res resumeResult
	var errs []error
	complete, cancelled := 0, false
	for range conns {
		var rr readResult
		select {
		case rr = <-results:
		case <-ctx.Done():
			cancel()
			cancelled = true
			rr = <-results
		}
		res.msgs += rr.got
		res.gap = max(res.gap, rr.gap)
		if rr.last.After(start) && rr.last.Sub(start) > res.took {
			res.took = rr.last.Sub(start)
		}
		switch {
		case rr.err == nil:
			complete++
		case cancelled && rr.got == 0 && errors.Is(rr.err, os.ErrDeadlineExceeded):
			// an association that carried nothing, stopped once the rest were done
		default:
			errs = append(errs, rr.err)
		}
		if !cancelled && (complete == want || len(errs) > 0) {
			cancel()
			cancelled = true
		}
	}
	if ctx.Err() != nil {
		errs = append(errs, fmt.Errorf("interrupted: %w", context.Cause(ctx)))
	}
	if len(errs) == 0 && res.msgs != wantMsgs {
		errs = append(errs, fmt.Errorf("%d messages delivered, senders had %d accepted", res.msgs, wantMsgs))
	}
	res.err = errors.Join(errs...)
	return res
}

// readBack reads one association until its sender's messages are all in,
// then checks that nothing more arrives.
func readBack(c *sctpsock.Conn, accepted []int64, claimed []atomic.Bool, deadline time.Time, results chan<- readResult) {
	var rr readResult
	defer func() { results <- rr }()
	c.SetReadDeadline(deadline)
	buf := make([]byte, 64<<10)
	var want int64
	var prev time.Time
	for {
		m, err := c.ReadMsg(buf)
		if err != nil {
			rr.err = readErr(rr, want, err)
			return
		}
		if m.Notification != nil {
			continue
		}
		id, seq := fromPPID(m.PPID)
		if rr.err = check(&rr, m, id, seq, accepted, claimed); rr.err != nil {
			return
		}
		if now := time.Now(); !prev.IsZero() {
			rr.gap = max(rr.gap, now.Sub(prev))
			prev = now
		} else {
			prev = now
		}
		want = accepted[id-1]
		if rr.got == want {
			rr.last = time.Now()
			rr.err = nothingMore(c, id)
			return
		}
	}
}

// check accounts for one message: it must be 1 byte, from the sender this
// association carries, with the next sequence number.
func check(rr *readResult, m sctpsock.Msg, id int, seq int64, accepted []int64, claimed []atomic.Bool) error {
	if len(m.Data) != 1 {
		return fmt.Errorf("a message of %d bytes (PPID %#x): messages were merged or split", len(m.Data), m.PPID)
	}
	if rr.id == 0 {
		if id < 1 || id > len(accepted) {
			return fmt.Errorf("first message has PPID %#x, from no sender", m.PPID)
		}
		if claimed[id-1].Swap(true) {
			return fmt.Errorf("sender %d's messages arrive on two associations", id)
		}
		rr.id = id
	}
	if id != rr.id {
		return fmt.Errorf("sender %d's association carries a message of sender %d", rr.id, id)
	}
	rr.got++
	if seq != rr.got || rr.got > accepted[id-1] {
		return fmt.Errorf("sender %d: message %d has sequence number %d (%d were sent): lost, duplicated or reordered",
			id, rr.got, seq, accepted[id-1])
	}
	return nil
}

func readErr(rr readResult, want int64, err error) error {
	if rr.id == 0 {
		return fmt.Errorf("an association delivered nothing: %w", err)
	}
	return fmt.Errorf("sender %d: %d of %d messages arrived: %w", rr.id, rr.got, want, err)
}

// nothingMore checks that no data follows a sender's last message.
func nothingMore(c *sctpsock.Conn, id int) error {
	c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	for {
		m, err := c.ReadMsg(nil)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("sender %d: after its last message: %w", id, err)
		}
		if m.Notification == nil {
			return fmt.Errorf("sender %d: a message after its last one (PPID %#x)", id, m.PPID)
		}
	}
}
