package proxy

import (
	"maps"
	"sync"
	"sync/atomic"

	"github.com/sctpguard/sctpguard/admin"
)

// totals are a relay's counters since the daemon started, kept as the relay
// works: a message adds to its direction's count when it is written, an
// association to ending when it leaves ESTABLISHED and to ended when it ends.
// Reading them (metrics, status) therefore costs nothing per association
// and asks the kernel nothing.
type totals struct {
	accepted, refused atomic.Uint64
	toUp, toFront     relayed
	pathEvents        atomic.Uint64
	ending            atomic.Int64 // live associations no longer ESTABLISHED

	dropped drops // undeliverable messages, as associations end

	mu    sync.Mutex
	ended map[admin.EndReason]uint64
}

// relayed counts one direction's messages and payload bytes.
type relayed struct{ msgs, bytes atomic.Uint64 }

func (c *relayed) add(n int) {
	c.msgs.Add(1)
	c.bytes.Add(uint64(n))
}

// refuse counts a front association aborted before it was relayed.
func (t *totals) refuse(reason admin.EndReason) {
	t.refused.Add(1)
	t.end(reason)
}

// end counts an association that ended for reason.
func (t *totals) end(reason admin.EndReason) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended == nil {
		t.ended = make(map[admin.EndReason]uint64)
	}
	t.ended[reason]++
}

// snapshot returns the counters; blocked is the relay budget's.
func (t *totals) snapshot() admin.RelayTotals {
	out := admin.RelayTotals{
		Accepted: t.accepted.Load(), Refused: t.refused.Load(),
		MsgsToUpstream: t.toUp.msgs.Load(), BytesToUpstream: t.toUp.bytes.Load(),
		MsgsToFront: t.toFront.msgs.Load(), BytesToFront: t.toFront.bytes.Load(),
		PathEvents: t.pathEvents.Load(),
	}
	t.mu.Lock()
	out.Ended = maps.Clone(t.ended)
	t.mu.Unlock()
	out.Dropped = t.dropped.snapshot()
	if out.Ended == nil {
		out.Ended = map[admin.EndReason]uint64{}
	}
	return out
}

// add folds an ended association into the totals: its end reason and the
// messages it could not deliver (its messages were counted as they were
// written), and it leaves the gauge of ending associations.
func (t *totals) add(a *association) {
	t.end(a.endReason())
	t.dropped.add(admin.DropUndeliverable, a.toUp.undeliverable.Load()+a.toFront.undeliverable.Load())
	if a.phase.Swap(phaseGone) == phaseEnding {
		t.ending.Add(-1)
	}
}

// An association's phase, for the relay's gauge of ending associations.
const (
	phaseEstablished int32 = iota // both legs relay
	phaseEnding                   // it has a reason to end, or drains
	phaseGone                     // counted in the totals as ended
)

// leave counts the association as ending the first time it gets a reason to
// end (see state).
func (a *association) leave() {
	if a.phase.CompareAndSwap(phaseEstablished, phaseEnding) {
		a.totals.ending.Add(1)
	}
}
