package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sctpguard/sctpguard/gate"
	"github.com/sctpguard/sctpguard/quota"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// pipe relays one direction of an association: it reads whole messages from src,
// charges each before reading the next, and writes it to dst.
type pipe struct {
	dir        direction
	src, dst   leg
	dstStreams uint16 // outbound streams dst negotiated; a message on a higher stream cannot be relayed
	acct       *quota.Account
	cost       quota.CostModel
	gate       *gate.Gate                         // releases the charges once dst's kernel and consumer let go
	onNotify   func(*sctpsock.Notification) error // an error ends the pipe
	// stallTimeout is the relay's stall_timeout now (0: off), read at every
	// check so that a reload applies to live associations.
	stallTimeout func() time.Duration
	srcBuf       srcBuffer // src's receive buffer, held at its queue while a charge waits
	ahead        backlog   // messages read from src while a charge waited, not yet relayed
	// burst is held while the pipe relays what src has ready, so that a drain
	// can act between two messages (see between); yield asks the pipe to let go
	// of it after the message it is relaying, which a source that always has a
	// message ready would otherwise never do.
	burst sync.Mutex
	yield atomic.Bool

	msgs, bytes   atomic.Uint64
	relayed       *relayed      // the relay's count for this direction, from track on (see adopt)
	undeliverable atomic.Uint64 // messages read after dst had shut down
	onLost        func()        // called for each of them (see association.lost)
	lostOne       bool          // one was lost; guarded by association.endMu
	srcEnded      bool          // src shut down after its last message; guarded by association.endMu
	// holding is set while a charge waits and until the pipe has written every
	// message it read since (the backlog): read by the other pipe's goroutine.
	holding atomic.Bool
	// heldBack is when the pipe last stopped holding (unix nanoseconds): a
	// producer held back by its window may still have messages in its own
	// kernel for a while after (see holdsUnwritten).
	heldBack atomic.Int64
	stalled  time.Time     // when the charges began to wait; zero while they fit
	held     int64         // the payload of the message whose charge waits, charged ahead (see waitHolding)
	waitStep time.Duration // how long a waiting charge waits between two checks (see wait)
}

// between runs f while the pipe is not relaying a message.
func (p *pipe) between(f func()) {
	p.yield.Store(true)
	p.burst.Lock()
	defer p.burst.Unlock()
	p.yield.Store(false)
	f()
}

// run relays until src ends (io.EOF), an error, or the association is closed. While
// src has nothing to read the pipe holds no buffer.
func (p *pipe) run(ctx context.Context) error {
	for {
		if err := p.src.WaitReadable(); err != nil {
			return &legError{leg: p.dir.src, op: "read", err: err}
		}
		p.burst.Lock()
		err := p.relayReady(ctx)
		p.burst.Unlock()
		if err != nil {
			return err
		}
	}
}

// relayReady relays every message src has ready, and the backlog first, with one
// borrowed buffer, given back while a message waits for quota (see relay).
func (p *pipe) relayReady(ctx context.Context) error {
	var b *[]byte
	defer func() {
		if b != nil {
			putScratch(b)
		}
	}()
	for {
		m, err := p.next(&b)
		if errors.Is(err, sctpsock.ErrWouldBlock) {
			if p.holding.Load() {
				p.heldBack.Store(time.Now().UnixNano())
				p.holding.Store(false) // the backlog is relayed
			}
			// Nothing waits any more: a buffer still held at what was queued
			// would drop every chunk src's peer sends (its queue may hold a
			// message behind a missing one, which nobody can read), and the
			// association would stall with nothing charged. See srcBuffer.
			p.srcBuf.thaw(p.src)
			return nil
		}
		if err != nil {
			return err
		}
		if m.Notification != nil {
			if err := p.onNotify(m.Notification); err != nil {
				return &legError{leg: p.dir.src, op: "read", err: err}
			}
			continue
		}
		if err := p.relay(ctx, m, &b); err != nil {
			return err
		}
		if p.yield.Load() {
			return nil // run takes the burst again once between is done
		}
	}
}

// next returns the oldest message of the backlog, or else the read error that ended
// reading ahead, or else the next message src has ready, read into *b (borrowed if
// nil). ErrWouldBlock means there is nothing.
func (p *pipe) next(b **[]byte) (sctpsock.Msg, error) {
	if m, ok := p.ahead.pop(); ok {
		return m, nil
	}
	if err := p.ahead.err; err != nil {
		return sctpsock.Msg{}, err
	}
	if *b == nil {
		*b = getScratch()
	}
	m, err := p.src.TryReadMsg(**b)
	if errors.Is(err, sctpsock.ErrWouldBlock) {
		return m, err
	}
	if err != nil {
		return m, &legError{leg: p.dir.src, op: "read", err: err}
	}
	if cap(m.Data) > cap(**b) {
		**b = m.Data[:cap(m.Data)] // grown for a large message; dropped by putScratch
	}
	return m, nil
}

// relay charges one message and writes it to dst. m.Data may be in the read buffer *b;
// if the charge has to wait, the message is copied out and the buffer given back
// (*b = nil), so that a pipe blocked on its quota holds its messages, not a buffer.
func (p *pipe) relay(ctx context.Context, m sctpsock.Msg, b **[]byte) error {
	if m.Stream >= p.dstStreams {
		return &streamError{dir: p.dir, stream: m.Stream, have: p.dstStreams}
	}
	cost := p.cost.Chunked(len(m.Data), p.gate.Frag())
	ok, err := p.acct.TryCharge(cost)
	if !ok && err == nil && p.gate.Settle() > 0 {
		// What the kernel let go since the observer last looked may make room:
		// look before waiting, and before competing with other associations for
		// what is beyond this one's reserve.
		ok, err = p.acct.TryCharge(cost)
	}
	if err != nil {
		return chargeErr(cost, err)
	}
	probe := false
	if ok {
		p.stalled = time.Time{}
	} else {
		// m.Data is in *b or in the backlog, which readAhead appends to.
		m.Data = bytes.Clone(m.Data)
		if *b != nil {
			putScratch(*b)
			*b = nil
		}
		if probe, err = p.waitHolding(ctx, cost, len(m.Data)); err != nil {
			return err
		}
	}
	m.SackImmediately = probe
	if err := p.write(m, b); err != nil {
		p.acct.Release(cost)
		if errors.Is(err, sctpsock.ErrShutdown) {
			// dst is shutting down (SCTP has no half-close): the message cannot be
			// delivered, and src must learn it (see association.lost). src is read
			// on until then, so that what dst's side sent it still arrives.
			p.undeliverable.Add(1)
			p.onLost()
			return nil
		}
		return &legError{leg: p.dir.dst, op: "write", err: err}
	}
	p.sent(cost, len(m.Data), probe)
	if p.srcBuf.frozen && 2*p.acct.Used() <= p.acct.Limit() {
		p.srcBuf.thaw(p.src) // the consumer is catching up: let the producer in again
	}
	return nil
}

// write writes m to dst. A write that would wait for room in dst's send buffer
// first copies m out of the read buffer *b, if the pipe has one, and gives the
// buffer back (*b = nil), so that a pipe blocked in a write holds its message
// (charged: its cost counts its payload), not a buffer of scratchSize or
// max_message. Such a write is rare: dst's send buffer is sized from the quota
// that the message was charged to, so only a kernel that counts more than the
// cost model, a probe beyond the quota, or another association's writes on a
// shared socket fill it. A write with room allocates nothing.
func (p *pipe) write(m sctpsock.Msg, b **[]byte) error {
	err := p.dst.TryWriteMsg(m)
	if !errors.Is(err, sctpsock.ErrWouldBlock) {
		return err
	}
	if *b != nil {
		m.Data = bytes.Clone(m.Data)
		putScratch(*b)
		*b = nil
	}
	return p.dst.WriteMsg(m)
}

// sent hands a written message to the gate and counts it.
func (p *pipe) sent(cost int64, n int, probe bool) {
	if probe {
		p.gate.Probed(cost, n) // counted by the gate
	} else {
		p.gate.Sent(cost, n)
	}
	p.msgs.Add(1)
	p.bytes.Add(uint64(n))
	p.relayed.add(n)
}

// readAhead moves what src has queued into the backlog, up to a quarter of the
// account's limit, before the pipe waits for quota: the kernel holds a small message
// for ~1.6 KB, the backlog for its payload and a few dozen bytes. A read error ends
// reading ahead; next returns it once the backlog is relayed.
//
// A queue of a few messages is left alone: after the pipe's last wait, srcBuffer held
// it at what it held, the next message closed the window, and reading now would
// reopen it. The producer would send what it has outstanding, most of it would be
// dropped when the window closed again, and it would wait for its retransmission
// timer, backing off from 1 s each time: seconds of silence once the pipe can relay
// again.
func (p *pipe) readAhead() {
	if p.ahead.err != nil {
		return
	}
	if queued, err := p.src.recvQueued(); err != nil || queued < readAheadFrom {
		return
	}
	limit := int(p.acct.Limit() / 4)
	b := getScratch()
	defer func() { putScratch(b) }()
	for p.ahead.size() < limit {
		m, err := p.src.TryReadMsg(*b)
		if errors.Is(err, sctpsock.ErrWouldBlock) {
			return
		}
		if err != nil {
			p.ahead.err = &legError{leg: p.dir.src, op: "read", err: err}
			return
		}
		if cap(m.Data) > cap(*b) {
			*b = m.Data[:cap(m.Data)]
		}
		p.ahead.push(m)
	}
}

// waitHolding is wait for a message of payload bytes that the pipe holds, copied
// out of its read buffer, while its charge of cost waits: the copy is charged at
// once (p.held), beyond the quota if need be (quota.Account.Overdraw), so that
// the association and every shared level count what the pipe holds, and the
// wait is for the rest of cost, which fits exactly when the whole would have.
// On an error nothing stays charged.
func (p *pipe) waitHolding(ctx context.Context, cost int64, payload int) (probe bool, err error) {
	if !p.beyondLimit(cost) {
		if err := p.acct.Overdraw(int64(payload)); err != nil {
			return false, chargeErr(cost, err)
		}
		p.held = int64(payload)
	}
	probe, err = p.wait(ctx, cost, 2*(min(payload, 64<<10)+sctpsock.RecvQueuedPerChunk))
	if err != nil {
		p.unhold()
	}
	p.held = 0
	return probe, err
}

// beyondLimit reports whether cost is above the account's limit (one admitted
// before a reload lowered it): such a charge waits until the account holds
// nothing else and is then charged alone (see quota.Account.SetLimit), so
// nothing may be charged ahead of it.
func (p *pipe) beyondLimit(cost int64) bool {
	limit := p.acct.Limit()
	return limit > 0 && cost > limit
}

// unhold releases what waitHolding charged ahead of the waiting message.
func (p *pipe) unhold() {
	if p.held > 0 {
		p.acct.Release(p.held)
		p.held = 0
	}
}

// wait blocks until cost, less what waitHolding charged ahead (p.held), fits
// the account, or until the gate says the waiting message should go as a probe
// of a stale window (probe true: the cost is then charged beyond the quota).
// While it waits it checks that src is still there and that dst can still take
// the message. Once it has waited freezeAfter it reads src's queue ahead and
// holds src's receive buffer at what is left queued and margin, so that the
// producer is stopped by SCTP's window instead of filling the queue (see
// srcBuffer), until relay finds the account half empty again.
func (p *pipe) wait(ctx context.Context, cost int64, margin int) (probe bool, err error) {
	p.holding.Store(true)
	p.gate.Wait()
	defer p.gate.Resume()
	if p.stalled.IsZero() {
		p.stalled = time.Now() // kept across the waits a probe ends, as is the step
		p.waitStep = waitStepFirst
	}
	for {
		if p.beyondLimit(cost) {
			p.unhold() // a reload lowered the limit below the message: charged alone
		}
		rest := cost - p.held
		err := chargeWithin(ctx, p.acct, rest, p.nextCheck())
		if err == nil {
			p.stalled = time.Time{}
			return false, nil
		}
		if !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			return false, chargeErr(cost, err)
		}
		if err := p.stillRelaying(); err != nil {
			return false, err
		}
		if err := p.stuck(rest); err != nil {
			return false, err
		}
		if !p.srcBuf.frozen && time.Since(p.stalled) >= freezeAfter {
			p.readAhead()
			p.srcBuf.freeze(p.src, margin)
		}
		if p.gate.ProbeDue(rest) {
			return true, p.acct.Overdraw(rest)
		}
		limit := waitStepMax
		if time.Since(p.stalled) >= waitStepLongAfter {
			limit = waitStepLong
		}
		p.waitStep = min(2*p.waitStep, limit)
	}
}

// nextCheck is how long a waiting charge waits before it rechecks: its step,
// or less if the gate's next probe is due sooner.
func (p *pipe) nextCheck() time.Duration {
	if d := p.gate.UntilProbe(); d > 0 && d < p.waitStep {
		return d
	}
	return p.waitStep
}

// stillRelaying returns why a waiting message can no longer be relayed: src was
// aborted (a flood whose producer gave up must not hold its quota forever; src
// is not read while the pipe waits, so its ABORT is seen here or in what reading
// ahead stopped at), or dst's association is over, so the charges it holds will
// never be released by its kernel: aborted by its peer (an end as the other
// pipe would have read it), else ended gracefully.
func (p *pipe) stillRelaying() error {
	if err := p.src.aborted(); err != nil {
		return &legError{leg: p.dir.src, op: "read", err: fmt.Errorf("aborted while waiting for quota: %w", errors.Join(sctpsock.ErrAborted, err))}
	}
	if err := p.ahead.err; err != nil && errors.Is(err, sctpsock.ErrAborted) {
		return err
	}
	if _, err := p.dst.Status(); err != nil {
		if aerr := p.dst.aborted(); aerr != nil {
			// dst's peer aborted: the same end as the other pipe reading the ABORT
			return &legError{leg: p.dir.dst, op: "write", err: fmt.Errorf("aborted while a message waited for quota: %w", errors.Join(sctpsock.ErrAborted, aerr))}
		}
		p.undeliverable.Add(1)
		return &legError{leg: p.dir.dst, op: "write", err: fmt.Errorf("association ended while a message waited for quota: %w", errors.Join(sctpsock.ErrShutdown, err))}
	}
	return nil
}

// stuck returns a *stallError once the consumer has not moved for the relay's
// stall_timeout while a charge of cost waits for this pipe's full quota (see
// gate.Gate.StalledFor): the association is then aborted.
func (p *pipe) stuck(cost int64) error {
	limit := p.stallTimeout()
	if limit <= 0 {
		return nil
	}
	if d := p.gate.StalledFor(cost); d >= limit {
		return &stallError{dir: p.dir, after: d, held: p.acct.Used(), limit: p.acct.Limit()}
	}
	return nil
}

// chargeWithin charges cost, waiting at most wait (the caller then checks its
// source and the gate, and retries).
func chargeWithin(ctx context.Context, acct *quota.Account, cost int64, wait time.Duration) error {
	if ok, err := acct.TryCharge(cost); ok || err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	return acct.Charge(cctx, cost)
}

func chargeErr(cost int64, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("charge %d bytes: %w", cost, err)
}

// legError is a failed read or write on one leg.
type legError struct {
	leg side
	op  string
	err error
}

func (e *legError) Error() string { return e.op + " " + string(e.leg) + ": " + e.err.Error() }
func (e *legError) Unwrap() error { return e.err }

// streamError is a message on a stream the receiving leg did not negotiate.
type streamError struct {
	dir    direction
	stream uint16
	have   uint16
}

func (e *streamError) Error() string {
	return fmt.Sprintf("message on stream %d, but the %s leg has only %d outbound streams", e.stream, e.dir.dst, e.have)
}

// stallError is a consumer that did not move for stall_timeout while its quota
// was full.
type stallError struct {
	dir         direction
	after       time.Duration
	held, limit int64
}

func (e *stallError) Error() string {
	return fmt.Sprintf("%s consumer stalled: nothing released for %v while %d bytes of its %d-byte quota were held",
		e.dir.dst, e.after.Round(time.Millisecond), e.held, e.limit)
}
