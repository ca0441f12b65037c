package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sctpguard/sctpguard/admin"
	"github.com/sctpguard/sctpguard/quota"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// association pairs one front association with one upstream association.
type association struct {
	id      uint64
	relay   string
	log     hclog.Logger
	front   leg
	up      leg
	started time.Time

	frontAddr, upAddr string         // peer addresses, for status
	primary           netip.AddrPort // path.primary of the upstream leg; invalid: the kernel's choice
	origDst           netip.AddrPort // transparent relays: where the application addressed it; else invalid
	upPort            uint16         // transparent relays: the upstream socket's port, in Relay.own until it closes
	frontEnds, upEnds legEnds        // to find the legs in sock_diag

	toUp, toFront *pipe
	accts         accounts

	endOnce  sync.Once
	endMu    sync.Mutex   // guards the pipes' lostOne and srcEnded (see lost)
	reason   atomic.Value // admin.EndReason, once it has one
	graceful atomic.Bool  // a leg shut down gracefully; the other is following
	draining atomic.Bool  // the daemon is stopping: see drain

	pathEvents atomic.Uint64 // path state changes on either leg (see pathEvent)
	pipes      pipesStop     // ends both pipes when the association is aborted

	totals *totals      // the relay's, from track on (see adopt)
	phase  atomic.Int32 // phaseEstablished, phaseEnding or phaseGone
}

// run relays both directions until both have ended, then closes both legs and logs
// one line with what was relayed and why it ended.
// When ctx ends the association is aborted at once.
func (a *association) run(ctx context.Context) {
	ctx, cancel := a.pipes.context(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { a.abort(admin.EndDrain, nil) })
	defer stop()
	var wg sync.WaitGroup
	wg.Add(2)
	go a.runPipe(ctx, a.toUp, &wg)
	a.runPipe(ctx, a.toFront, &wg) // in this goroutine: one stack fewer per association
	wg.Wait()
	a.front.Close()
	a.up.Close()
	a.toUp.gate.Close()
	a.toFront.gate.Close()
	for _, acct := range a.accts.each() {
		acct.Close()
	}
	a.logEnd()
}

// runPipe runs one direction; its end decides the association's fate.
func (a *association) runPipe(ctx context.Context, p *pipe, wg *sync.WaitGroup) {
	defer wg.Done()
	err := p.run(ctx)
	a.pipeEnded(p, err)
}

// pipeEnded is the one place that decides how an association ends.
func (a *association) pipeEnded(p *pipe, err error) {
	switch {
	case errors.Is(err, io.EOF):
		// The source shut down after its last message, all of which were written:
		// SHUTDOWN the other leg, which delivers them and then ends.
		a.graceful.Store(true)
		a.setReason(admin.EndShutdown)
		if a.srcEnded(p) {
			return // p.dst lost messages the other pipe read from it: aborted instead
		}
		if serr := p.dst.Shutdown(); serr != nil && !closedErr(serr) {
			a.log.Debug("shutdown leg", "leg", p.dir.dst, "error", serr)
		}
	case a.graceful.Load() && closedOrShutdown(err):
		// The other direction already ended gracefully; this leg is following it.
	default:
		reason := classify(err)
		if reason == admin.EndTooLarge || reason == admin.EndStreamMissing {
			// sctpguard's own verdict, not the network's: what was relayed before
			// the offending message is delivered first, since ABORT discards
			// whatever the kernel has not yet sent.
			a.flush(p)
		}
		a.abort(reason, err)
	}
}

// flush waits until the kernel holds no unsent or unacknowledged message of what
// p wrote, at most flushWait; it returns at once when p's destination is gone.
func (a *association) flush(p *pipe) {
	deadline := time.Now().Add(flushWait)
	for !p.gate.Flushed() {
		if time.Now().After(deadline) {
			a.log.Debug("flush before abort: still unacknowledged", "leg", p.dir.dst)
			return
		}
		time.Sleep(flushPoll)
	}
}

// drain ends the association gracefully for a daemon that stops. The front leg is
// shut down between two messages toward it: the application can send no more and
// receives everything relayed to it so far. What it had already sent still reaches
// the upstream peer; then its SHUTDOWN_COMPLETE ends the pipe toward upstream and
// pipeEnded shuts the upstream leg down after that pipe's last message.
func (a *association) drain() {
	if a.draining.Swap(true) {
		return
	}
	a.setReason(admin.EndDrain)
	a.toFront.between(func() {
		if err := a.front.Shutdown(); err != nil && !closedErr(err) {
			a.log.Debug("drain: shutdown front", "error", err)
		}
	})
}

// blocked is the time this association's writers spent blocked on the quota.
func (a *association) blocked() time.Duration {
	return a.accts.toUp.BlockedTime() + a.accts.toFront.BlockedTime()
}

// abort ends both legs with ABORT; the first cause wins and is logged.
func (a *association) abort(reason admin.EndReason, cause error) {
	a.endOnce.Do(func() {
		a.setReasonForce(reason)
		if cause != nil && !closedErr(cause) {
			a.log.Warn("aborting association", "reason", reason, "error", cause)
		}
		a.front.Abort()
		a.up.Abort()
		a.pipes.stop() // a pipe waiting for quota the aborted leg held would wait forever
	})
}

// setReason records why the association ends, unless it has a reason already.
func (a *association) setReason(r admin.EndReason) {
	a.reason.CompareAndSwap(nil, r)
	a.leave()
}

// setReasonForce records why the association is aborted: it overrides a
// graceful end in progress, never another abort's reason.
func (a *association) setReasonForce(r admin.EndReason) {
	if cur := a.endReason(); cur == "" || cur == admin.EndShutdown {
		a.reason.Store(r)
	}
	a.leave()
}

// notify handles an event read on one leg. The end of the leg's association is
// returned as an error: the socket that sent SHUTDOWN is never marked readable
// again once the SHUTDOWN completes, so the event is what ends its pipe.
func (a *association) notify(leg side, n *sctpsock.Notification) error {
	if n.PeerAddrChange != nil {
		a.pathEvent(leg, n.PeerAddrChange)
		return nil
	}
	a.log.Debug("notification", "leg", leg, "event", n.String())
	return endOf(n)
}

// endReason is why the association ends; "" while it has no reason to.
func (a *association) endReason() admin.EndReason {
	r, _ := a.reason.Load().(admin.EndReason)
	return r
}

func (a *association) logEnd() {
	fields := []any{"reason", string(a.endReason()),
		"duration", time.Since(a.started).Round(time.Millisecond),
		"msgs_to_upstream", a.toUp.msgs.Load(), "bytes_to_upstream", a.toUp.bytes.Load(),
		"msgs_to_front", a.toFront.msgs.Load(), "bytes_to_front", a.toFront.bytes.Load()}
	for _, p := range []*pipe{a.toUp, a.toFront} {
		if n := p.undeliverable.Load(); n > 0 {
			// Read after the receiving leg had shut down: SCTP has no half-close.
			fields = append(fields, "undeliverable_"+string(p.dir.name), n)
		}
	}
	a.log.Info("association ended", fields...)
}

// classify maps a pipe's error to an end reason.
func classify(err error) admin.EndReason {
	var se *streamError
	var stall *stallError
	switch {
	case errors.As(err, &se):
		return admin.EndStreamMissing
	case errors.As(err, &stall):
		return admin.EndStalled
	case errors.Is(err, sctpsock.ErrMessageTooLarge), errors.Is(err, quota.ErrTooLarge):
		return admin.EndTooLarge
	case errors.Is(err, sctpsock.ErrAborted):
		return admin.EndPeerAbort
	case errors.Is(err, context.Canceled):
		return admin.EndDrain
	}
	return admin.EndIOError
}

func closedErr(err error) bool { return errors.Is(err, net.ErrClosed) }

// closedOrShutdown is true for the errors a leg gives once its association is ending.
func closedOrShutdown(err error) bool {
	return err == nil || closedErr(err) || errors.Is(err, io.EOF) || errors.Is(err, sctpsock.ErrAborted) ||
		errors.Is(err, sctpsock.ErrShutdown)
}
