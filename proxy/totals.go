package proxy

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/sctpguard/sctpguard/admin"
)

// totals are a relay's counters since the daemon started. Live associations add
// theirs when they end, so the hot path touches none of these.
type totals struct {
	accepted, refused atomic.Uint64

	mu                    sync.Mutex
	msgsUp, bytesUp       uint64
	msgsFront, bytesFront uint64
	blocked               time.Duration
	pathEvents            uint64
	ended                 map[string]uint64
}

// refuse counts a front association aborted before it was relayed.
func (t *totals) refuse(reason string) {
	t.refused.Add(1)
	t.mu.Lock()
	t.addEnded(reason)
	t.mu.Unlock()
}

// add folds an ended association into the totals.
func (t *totals) add(a *association) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.msgsUp += a.toUp.msgs.Load()
	t.bytesUp += a.toUp.bytes.Load()
	t.msgsFront += a.toFront.msgs.Load()
	t.bytesFront += a.toFront.bytes.Load()
	t.blocked += a.blocked()
	t.pathEvents += a.pathEvents.Load()
	reason, _ := a.reason.Load().(string)
	t.addEnded(reason)
}

func (t *totals) addEnded(reason string) {
	if t.ended == nil {
		t.ended = make(map[string]uint64)
	}
	t.ended[reason]++
}

// snapshot returns the totals with the live associations' counts added.
func (t *totals) snapshot(live []admin.AssocStatus) admin.RelayTotals {
	t.mu.Lock()
	out := admin.RelayTotals{
		Accepted: t.accepted.Load(), Refused: t.refused.Load(),
		MsgsToUpstream: t.msgsUp, BytesToUpstream: t.bytesUp,
		MsgsToFront: t.msgsFront, BytesToFront: t.bytesFront,
		Blocked: t.blocked, PathEvents: t.pathEvents,
		Ended: make(map[string]uint64, len(t.ended)),
	}
	for k, v := range t.ended {
		out.Ended[k] = v
	}
	t.mu.Unlock()
	for _, a := range live {
		out.MsgsToUpstream += a.MsgsToUpstream
		out.BytesToUpstream += a.BytesToUpstream
		out.MsgsToFront += a.MsgsToFront
		out.BytesToFront += a.BytesToFront
		out.Blocked += a.Blocked
		out.PathEvents += a.PathEvents
	}
	return out
}
