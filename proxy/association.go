package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sctpguard/sctpguard/quota"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// Why an association ended: a fixed set, used in the final log line and as a metric label.
const (
	endShutdown          = "shutdown"       // a peer shut down gracefully and the other leg followed
	endPeerAbort         = "peer_abort"     // a peer aborted
	endStream            = "stream_missing" // a message on a stream the other leg lacks
	endTooLarge          = "too_large"      // a message over max_message or over the quota
	endUnreachable       = "upstream_unreachable"
	endIOError           = "io_error"
	endDrain             = "drain" // the daemon stopped
	endQuotaRefused      = "quota_exhausted"
	endTooManyConnecting = "too_many_connecting" // accepted while max_connecting others waited for upstream
	endStalled           = "stalled"             // the consumer did not move for stall_timeout while the quota was full
	endNotifyInvalid     = "bad_notification"
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
	accts         [2]*quota.Account

	endOnce  sync.Once
	reason   atomic.Value // string
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
	stop := context.AfterFunc(ctx, func() { a.abort(endDrain, nil) })
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
	for _, acct := range a.accts {
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
		a.setReason(endShutdown)
		if serr := p.dst.Shutdown(); serr != nil && !closedErr(serr) {
			a.log.Debug("shutdown leg", "leg", p.dstLeg(), "error", serr)
		}
	case a.graceful.Load() && closedOrShutdown(err):
		// The other direction already ended gracefully; this leg is following it.
	default:
		reason := classify(err)
		if reason == endTooLarge || reason == endStream {
			// sctpguard's own verdict, not the network's: what was relayed before
			// the offending message is delivered first, since ABORT discards
			// whatever the kernel has not yet sent.
			a.flush(p)
		}
		a.abort(reason, err)
	}
}

// flushWait bounds how long flush waits for the peer's acknowledgement.
const flushWait = 2 * time.Second

// flush waits until the kernel holds no unsent or unacknowledged message of what
// p wrote, at most flushWait; it returns at once when p's destination is gone.
func (a *association) flush(p *pipe) {
	deadline := time.Now().Add(flushWait)
	for !p.gate.Flushed() {
		if time.Now().After(deadline) {
			a.log.Debug("flush before abort: still unacknowledged", "leg", p.dstLeg())
			return
		}
		time.Sleep(5 * time.Millisecond)
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
	a.setReason(endDrain)
	a.toFront.between(func() {
		if err := a.front.Shutdown(); err != nil && !closedErr(err) {
			a.log.Debug("drain: shutdown front", "error", err)
		}
	})
}

// blocked is the time this association's writers spent blocked on the quota.
func (a *association) blocked() time.Duration {
	return a.accts[0].BlockedTime() + a.accts[1].BlockedTime()
}

// abort ends both legs with ABORT; the first cause wins and is logged.
func (a *association) abort(reason string, cause error) {
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

func (a *association) setReason(r string) {
	a.reason.CompareAndSwap(nil, r)
	a.leave()
}

func (a *association) setReasonForce(r string) {
	if cur, _ := a.reason.Load().(string); cur == "" || cur == endShutdown {
		a.reason.Store(r)
	}
	a.leave()
}

// notify handles an event read on one leg. The end of the leg's association is
// returned as an error: the socket that sent SHUTDOWN is never marked readable
// again once the SHUTDOWN completes, so the event is what ends its pipe.
func (a *association) notify(leg string, n *sctpsock.Notification) error {
	if n.PeerAddrChange != nil {
		a.pathEvent(leg, n.PeerAddrChange)
		return nil
	}
	a.log.Debug("notification", "leg", leg, "event", n.String())
	if n.AssocChange == nil {
		return nil
	}
	switch n.AssocChange.State {
	case sctpsock.ShutdownComplete:
		return io.EOF
	case sctpsock.CommLost, sctpsock.CantStartAssoc:
		return fmt.Errorf("%s: %w", n.String(), sctpsock.ErrAborted)
	}
	return nil
}

func (a *association) logEnd() {
	reason, _ := a.reason.Load().(string)
	fields := []any{"reason", reason,
		"duration", time.Since(a.started).Round(time.Millisecond),
		"msgs_to_upstream", a.toUp.msgs.Load(), "bytes_to_upstream", a.toUp.bytes.Load(),
		"msgs_to_front", a.toFront.msgs.Load(), "bytes_to_front", a.toFront.bytes.Load()}
	for _, p := range []*pipe{a.toUp, a.toFront} {
		if n := p.undeliverable.Load(); n > 0 {
			// Read after the receiving leg had shut down: SCTP has no half-close.
			fields = append(fields, "undeliverable_"+p.dir, n)
		}
	}
	a.log.Info("association ended", fields...)
}

// classify maps a pipe's error to an end reason.
func classify(err error) string {
	var se *streamError
	var stall *stallError
	switch {
	case errors.As(err, &se):
		return endStream
	case errors.As(err, &stall):
		return endStalled
	case errors.Is(err, sctpsock.ErrMessageTooLarge), errors.Is(err, quota.ErrTooLarge):
		return endTooLarge
	case errors.Is(err, sctpsock.ErrAborted):
		return endPeerAbort
	case errors.Is(err, context.Canceled):
		return endDrain
	}
	return endIOError
}

func closedErr(err error) bool { return errors.Is(err, net.ErrClosed) }

// closedOrShutdown is true for the errors a leg gives once its association is ending.
func closedOrShutdown(err error) bool {
	return err == nil || closedErr(err) || errors.Is(err, io.EOF) || errors.Is(err, sctpsock.ErrAborted) ||
		errors.Is(err, sctpsock.ErrShutdown)
}
