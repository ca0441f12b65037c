package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/sctpguard/sctpguard/quota"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// Directions of a pipe, used in logs and as a metric label.
const (
	toUpstream = "to_upstream"
	toFront    = "to_front"
)

// pipe relays one direction of an association: it reads whole messages from src,
// charges each before reading the next, and writes it to dst.
type pipe struct {
	dir        string
	src, dst   *sctpsock.Conn
	dstStreams uint16 // outbound streams dst negotiated; a message on a higher stream cannot be relayed
	acct       *quota.Account
	cost       quota.CostModel
	held       *inflight                          // charges the kernel of dst still holds
	onNotify   func(*sctpsock.Notification) error // an error ends the pipe
	srcBuf     srcBuffer                          // src's receive buffer, cut to the true cost of what it queues
	// burst is held while the pipe relays what src has ready, so that a drain
	// can act between two messages (see between).
	burst sync.Mutex

	msgs, bytes   atomic.Uint64
	undeliverable atomic.Uint64 // messages read after dst had shut down
}

// between runs f while the pipe is not relaying a message.
func (p *pipe) between(f func()) {
	p.burst.Lock()
	defer p.burst.Unlock()
	f()
}

// run relays until src ends (io.EOF), an error, or the association is closed. While
// src has nothing to read the pipe holds no buffer.
func (p *pipe) run(ctx context.Context) error {
	p.srcBuf.start(p.src, queueBudget(p.acct.Limit()), p.cost.PerMessage())
	for {
		if err := p.src.WaitReadable(); err != nil {
			return &legError{leg: p.srcLeg(), op: "read", err: err}
		}
		p.burst.Lock()
		err := p.drain(ctx)
		p.burst.Unlock()
		if err != nil {
			return err
		}
	}
}

// drain relays every message src has ready, with one borrowed buffer, given back while
// a message waits for quota (see relay).
func (p *pipe) drain(ctx context.Context) error {
	var b *[]byte
	defer func() {
		if b != nil {
			putScratch(b)
		}
	}()
	for {
		if b == nil {
			b = getScratch()
		}
		m, err := p.src.TryReadMsg(*b)
		if errors.Is(err, sctpsock.ErrWouldBlock) {
			return nil
		}
		if err != nil {
			return &legError{leg: p.srcLeg(), op: "read", err: err}
		}
		if cap(m.Data) > cap(*b) {
			*b = m.Data[:cap(m.Data)] // grown for a large message; dropped by putScratch
		}
		if m.Notification != nil {
			if err := p.onNotify(m.Notification); err != nil {
				return &legError{leg: p.srcLeg(), op: "read", err: err}
			}
			continue
		}
		if err := p.relay(ctx, m, &b); err != nil {
			return err
		}
	}
}

// relay charges one message and writes it to dst. m.Data is in the read buffer *b;
// if the charge has to wait, the message is copied out and the buffer given back
// (*b = nil), so that a pipe blocked on its quota holds its message, not a buffer.
func (p *pipe) relay(ctx context.Context, m sctpsock.Msg, b **[]byte) error {
	if m.Stream >= p.dstStreams {
		return &streamError{dir: p.dir, stream: m.Stream, have: p.dstStreams}
	}
	p.srcBuf.observe(p.src, len(m.Data))
	cost := p.cost.Cost(len(m.Data))
	ok, err := p.acct.TryCharge(cost)
	if !ok && err == nil && p.held.settle(p.dst, nil, 0) > 0 {
		// What the kernel has let go since the last question may make room: ask
		// before waiting, and before competing with other associations for
		// what is beyond this one's reserve.
		ok, err = p.acct.TryCharge(cost)
	}
	if err != nil {
		return chargeErr(cost, err)
	}
	if !ok {
		m.Data = bytes.Clone(m.Data)
		putScratch(*b)
		*b = nil
		if err := p.wait(ctx, cost); err != nil {
			return err
		}
	}
	if err := p.dst.WriteMsg(m); err != nil {
		p.acct.Release(cost)
		if errors.Is(err, sctpsock.ErrShutdown) {
			// dst is shutting down (SCTP has no half-close): the message cannot be
			// delivered, but src must still be read to its end so that its own
			// queued messages and SHUTDOWN reach the other side.
			p.undeliverable.Add(1)
			return nil
		}
		return &legError{leg: p.dstLeg(), op: "write", err: err}
	}
	p.held.push(cost, len(m.Data))
	p.msgs.Add(1)
	p.bytes.Add(uint64(len(m.Data)))
	return nil
}

// wait blocks until cost fits the account. While it waits it asks the kernel what it
// still holds of earlier messages, so acknowledged ones give their charge back, and
// src's receive buffer is held at what its queue holds, so that the producer is stopped
// by SCTP's window instead of filling the queue (see srcBuffer).
func (p *pipe) wait(ctx context.Context, cost int64) error {
	p.srcBuf.freeze(p.src)
	defer p.srcBuf.thaw(p.src)
	wait := settleEvery
	for {
		err := chargeWithin(ctx, p.acct, cost, wait)
		if err == nil {
			return nil
		}
		if !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			return chargeErr(cost, err)
		}
		if _, err := p.src.Status(); err != nil {
			// src is not read while the pipe waits, so its ABORT is seen here; a
			// flood whose producer gave up must not hold its quota forever.
			return &legError{leg: p.srcLeg(), op: "read", err: fmt.Errorf("association gone while waiting for quota: %w", errors.Join(sctpsock.ErrAborted, err))}
		}
		if p.held.settle(p.dst, nil, 0) > 0 {
			wait = settleEvery
		} else {
			wait = min(2*wait, settleAtMost)
		}
	}
}

func chargeErr(cost int64, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("charge %d bytes: %w", cost, err)
}

func (p *pipe) srcLeg() string {
	if p.dir == toUpstream {
		return "front"
	}
	return "upstream"
}

func (p *pipe) dstLeg() string {
	if p.dir == toUpstream {
		return "upstream"
	}
	return "front"
}

// legError is a failed read or write on one leg.
type legError struct {
	leg, op string
	err     error
}

func (e *legError) Error() string { return e.op + " " + e.leg + ": " + e.err.Error() }
func (e *legError) Unwrap() error { return e.err }

// streamError is a message on a stream the receiving leg did not negotiate.
type streamError struct {
	dir    string
	stream uint16
	have   uint16
}

func (e *streamError) Error() string {
	return fmt.Sprintf("message on stream %d, but the %s leg has only %d outbound streams", e.stream, legOf(e.dir), e.have)
}

func legOf(dir string) string {
	if dir == toUpstream {
		return "upstream"
	}
	return "front"
}
