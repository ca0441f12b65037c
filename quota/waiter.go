package quota

import "sync"

// A waiter is a charge that could not be granted at once. It waits first in
// its account's queue until the account's limit admits it, then, if the
// account's holding does not cover it, as the account's inflight charge in
// the queue of each level above in turn, holding what it got from the
// levels below. Levels are always taken bottom-up, so holding them cannot
// deadlock.
type waiter struct {
	a    *Account
	cost int64
	need int64   // bytes to borrow at every level from a.b up
	at   *Budget // next level to borrow from; need is held below it

	in         *waitq // the queue w is in, if any
	prev, next *waiter

	done  bool  // finished; guarded by the tree's mutex
	err   error // result once done
	ready chan struct{}
}

var waiters = sync.Pool{New: func() any {
	return &waiter{ready: make(chan struct{}, 1)}
}}

func getWaiter(a *Account, cost int64) *waiter {
	w := waiters.Get().(*waiter)
	w.a, w.cost = a, cost
	return w
}

func putWaiter(w *waiter) {
	select {
	case <-w.ready: // finished, but the caller woke on ctx
	default:
	}
	*w = waiter{ready: w.ready}
	waiters.Put(w)
}

// finish ends the wait with err (nil: granted).
func (w *waiter) finish(err error) {
	w.done, w.err = true, err
	w.ready <- struct{}{}
}

// advance borrows need from w.at upward, level by level, until a level
// cannot lend or has others waiting; there w queues. It reports whether w
// got everything and finished.
func (w *waiter) advance() bool {
	for ; w.at != nil; w.at = w.at.parent {
		if !w.at.q.empty() || !w.at.lends(w.need) {
			w.at.q.push(w)
			return false
		}
		w.at.used += w.need
	}
	a := w.a
	a.hold += w.need
	a.inflight = nil
	w.need = 0
	w.finish(nil)
	return true
}

// shrink lowers the inflight charge's need by d, giving d back at the levels
// that lent it; when nothing is left to borrow, the charge is granted.
func (w *waiter) shrink(d int64) {
	w.a.b.addUsed(-d, w.at)
	w.need -= d
	if w.need > 0 {
		return
	}
	w.at.q.remove(w)
	w.at = nil
	w.a.inflight = nil
	w.finish(nil)
}

// rollback gives back everything the inflight charge has borrowed so far and
// leaves the queue it waits in.
func (w *waiter) rollback() {
	w.a.b.addUsed(-w.need, w.at)
	if w.at != nil {
		w.at.q.remove(w)
	}
	w.need, w.at = 0, nil
}

// waitq is a FIFO of waiters, linked through the waiters themselves.
type waitq struct {
	head, tail *waiter
	n          int
}

func (q *waitq) empty() bool    { return q.head == nil }
func (q *waitq) front() *waiter { return q.head }
func (q *waitq) len() int       { return q.n }

func (q *waitq) push(w *waiter) {
	w.in, w.prev, w.next = q, q.tail, nil
	if q.tail == nil {
		q.head = w
	} else {
		q.tail.next = w
	}
	q.tail = w
	q.n++
}

func (q *waitq) remove(w *waiter) {
	if w.in != q {
		return
	}
	if w.prev == nil {
		q.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		q.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.in, w.prev, w.next = nil, nil, nil
	q.n--
}
