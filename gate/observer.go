package gate

import (
	"container/heap"
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// Observer reads the kernel for every gate of the process, one round at a time:
// each round samples the gates that are due, with one read of this namespace's
// receive-queue table shared by all of them, so its cost grows with the number
// of associations, not with its square. A gate is due often while a charge waits
// on it and less and less often while nothing moves; a gate that holds nothing is
// not sampled at all.
type Observer struct {
	// ReceiveQueues reads the receive queue of every association in this network
	// namespace. If nil, sctpsock.ReceiveQueues (/proc/net/sctp/assocs).
	ReceiveQueues func() (map[sctpsock.PortPair]int64, error)

	now  func() time.Time
	wake chan struct{}

	mu  sync.Mutex
	due gateHeap

	batch []*Gate // the gates of the current round; owned by the round
	marks []uint64

	rounds, samples, tableReads atomic.Uint64
}

// NewObserver returns an observer; Run serves it.
func NewObserver() *Observer {
	return &Observer{now: time.Now, wake: make(chan struct{}, 1)}
}

// Run samples the gates as they fall due until ctx ends. Gates keep working
// without it, but nothing is released.
func (o *Observer) Run(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		next := o.round()
		if next <= 0 {
			next = time.Hour
		}
		t.Reset(max(next, roundEvery))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-o.wake:
		}
	}
}

// Counts returns the rounds run, the gates sampled and the reads of the receive
// queue table, ever.
func (o *Observer) Counts() (rounds, samples, tableReads uint64) {
	return o.rounds.Load(), o.samples.Load(), o.tableReads.Load()
}

// round samples every gate that is due and returns how long until the next one
// is (0: none is scheduled).
func (o *Observer) round() time.Duration {
	now := o.now()
	o.batch = o.popDue(now, o.batch[:0])
	if len(o.batch) == 0 {
		return o.untilNext(now)
	}
	o.rounds.Add(1)
	o.marks = o.marks[:0]
	table := false
	for _, g := range o.batch {
		o.marks = append(o.marks, g.mark())
		table = table || g.receiver != nil
	}
	rxq := o.receiveQueues(table)
	for i, g := range o.batch {
		o.samples.Add(1)
		freed := o.observe(g, o.marks[i], rxq)
		o.reschedule(g, freed > 0)
		o.batch[i] = nil
	}
	return o.untilNext(o.now())
}

// receiveQueues reads the receive-queue table when a gate of the round needs it;
// nil if none does or it cannot be read (the gates then go by the window).
func (o *Observer) receiveQueues(need bool) map[sctpsock.PortPair]int64 {
	if !need {
		return nil
	}
	read := o.ReceiveQueues
	if read == nil {
		read = sctpsock.ReceiveQueues
	}
	o.tableReads.Add(1)
	rxq, err := read()
	if err != nil {
		return nil
	}
	return rxq
}

// observe samples g's association and applies the reading.
func (o *Observer) observe(g *Gate, mark uint64, rxq map[sctpsock.PortPair]int64) int64 {
	s, err := g.src.Sample()
	if err != nil {
		return 0 // ending: Close releases everything
	}
	var rx int64
	have := false
	if g.receiver != nil && rxq != nil {
		rx, have = rxq[*g.receiver]
	}
	return g.apply(mark, s, rx, have)
}

// schedule puts g in the schedule at most after (sooner if it is due sooner);
// reset starts its backoff from after.
func (o *Observer) schedule(g *Gate, after time.Duration, reset bool) {
	if !reset && g.scheduled.Load() {
		return // the hot path: a message sent toward a gate already in the schedule
	}
	o.advance(g, after, reset)
}

// advance moves g's next sample to after from now if that is sooner, keeping
// its backoff unless reset.
func (o *Observer) advance(g *Gate, after time.Duration, reset bool) {
	at := o.now().Add(after)
	o.mu.Lock()
	switch {
	case g.idx < 0:
		g.due, g.step = at, after
		heap.Push(&o.due, g)
	case at.Before(g.due):
		g.due = at
		heap.Fix(&o.due, g.idx)
	}
	if reset {
		g.step = after
	}
	first := o.due[0] == g
	o.mu.Unlock()
	if first {
		o.poke()
	}
}

// setWaiting marks g as having a charge that waits or not. A fresh wait is
// sampled at once and then from waitFirst on; one that continues a stall keeps
// its backoff.
func (o *Observer) setWaiting(g *Gate, waiting, fresh bool) {
	o.mu.Lock()
	g.waiting = waiting
	o.mu.Unlock()
	switch {
	case waiting && fresh:
		o.schedule(g, 0, true)
	case waiting:
		o.schedule(g, waitMax, false) // in the schedule already unless it held nothing
	}
}

// reschedule puts g back after a sample: sooner if the sample freed something,
// later and later while nothing moves; not at all once it holds nothing.
func (o *Observer) reschedule(g *Gate, freed bool) {
	if !g.held() {
		return
	}
	pressing, slow := g.pressing(), g.slow()
	o.mu.Lock()
	first, limit := idleFirst, idleMax
	switch {
	case g.waiting && slow:
		first, limit = waitFirst, waitMaxSlow
	case g.waiting || pressing:
		first, limit = waitFirst, waitMax
	}
	step := min(max(2*g.step, first), limit)
	if freed {
		step = first
	}
	if g.idx < 0 {
		g.step, g.due = step, o.now().Add(step)
		heap.Push(&o.due, g)
	}
	o.mu.Unlock()
}

func (o *Observer) unschedule(g *Gate) {
	o.mu.Lock()
	if g.idx >= 0 {
		heap.Remove(&o.due, g.idx)
	}
	o.mu.Unlock()
}

func (o *Observer) popDue(now time.Time, out []*Gate) []*Gate {
	o.mu.Lock()
	defer o.mu.Unlock()
	for len(o.due) > 0 && !o.due[0].due.After(now) {
		out = append(out, heap.Pop(&o.due).(*Gate))
	}
	return out
}

func (o *Observer) untilNext(now time.Time) time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.due) == 0 {
		return 0
	}
	return max(o.due[0].due.Sub(now), time.Nanosecond)
}

func (o *Observer) poke() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// gateHeap orders scheduled gates by when they are due.
type gateHeap []*Gate

func (h gateHeap) Len() int           { return len(h) }
func (h gateHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h gateHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *gateHeap) Push(x any) {
	g := x.(*Gate)
	g.idx = len(*h)
	g.scheduled.Store(true)
	*h = append(*h, g)
}
func (h *gateHeap) Pop() any {
	old := *h
	g := old[len(old)-1]
	old[len(old)-1] = nil
	g.idx = -1
	g.scheduled.Store(false)
	*h = old[:len(old)-1]
	return g
}
