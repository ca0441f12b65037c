package proxy

import "time"

// A message read from one leg after the other leg shut down cannot be delivered:
// SCTP has no half-close, and a socket that received SHUTDOWN takes no new message.
// The leg that sent it must learn that it was lost, and a graceful SHUTDOWN would
// tell it the opposite, so that leg is aborted instead. Not at once: what the side
// that shut down sent it may still be on its way, and an ABORT discards whatever the
// kernel has not yet had acknowledged. So the leg is aborted once the pipe toward it
// has relayed its source's last message (its io.EOF) and the kernel holds none of
// them unacknowledged (flush), whichever of the two comes last.
//
// When the pipe toward it is done first, the leg is shut down gracefully, unless
// the pipe from it holds a message or its queue does, or it held that leg's peer
// back by its window lately (the peer's kernel may still hold messages): those
// cannot be delivered either, so the leg is aborted then. What remains is one
// round trip: a message the peer sent just before it received sctpguard's
// SHUTDOWN, read after the SHUTDOWN handshake completed, is counted undeliverable
// but its sender saw a clean end; SCTP has no way left to tell it.

// lost records that p read a message it could not deliver because p.dst shut down;
// p.src is aborted now if the pipe toward it is done, else when it is (see srcEnded).
func (a *association) lost(p *pipe) {
	q := a.other(p)
	a.endMu.Lock()
	first := !p.lostOne
	p.lostOne = true
	now := first && q.srcEnded
	a.endMu.Unlock()
	if now {
		a.abortSource(p)
	}
}

// srcEnded records that q's source shut down after its last message, all of which
// were written; it reports whether the other pipe has lost a message, in which case
// q's destination has been aborted rather than shut down.
func (a *association) srcEnded(q *pipe) (aborted bool) {
	p := a.other(q)
	a.endMu.Lock()
	q.srcEnded = true
	if !p.lostOne && p.holdsUnwritten() {
		p.lostOne = true // they are lost from now on: q.dst takes no new message
	}
	lost := p.lostOne
	a.endMu.Unlock()
	if lost {
		a.abortSource(p)
	}
	return lost
}

// holdsUnwritten reports whether p holds a message read from src and not yet
// written, or src's queue holds one, or src's peer may still have some in its
// own kernel: one that p held back by its window (see srcBuffer) less than
// heldBackRecent ago sends what it queued meanwhile once the window reopens,
// after its retransmission timer if its chunks were dropped, and a SHUTDOWN
// sent before they arrive would end its side cleanly, its reader seeing EOF,
// while they are lost. An ABORT then may be a false alarm; a SHUTDOWN would
// say they were delivered. Safe outside p's goroutine.
func (p *pipe) holdsUnwritten() bool {
	if p.holding.Load() || time.Since(time.Unix(0, p.heldBack.Load())) < heldBackRecent {
		return true
	}
	n, err := p.src.recvQueued()
	return err == nil && n > 0
}

// abortSource aborts p's source, whose messages p could not deliver, once what
// the other pipe wrote to it is acknowledged.
func (a *association) abortSource(p *pipe) {
	a.flush(a.other(p))
	a.log.Warn("aborting leg: messages it sent after the other side shut down could not be delivered",
		"leg", p.dir.src, "undeliverable", p.undeliverable.Load())
	p.src.Abort()
}

// other is the pipe of the opposite direction.
func (a *association) other(p *pipe) *pipe {
	if p == a.toUp {
		return a.toFront
	}
	return a.toUp
}
