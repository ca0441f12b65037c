package quota

import (
	"context"
	"fmt"
	"time"
)

// Account is the budget of one association in one direction. It holds its
// reserve at every level above it from Open to Close; charges that fit in
// what it holds never wait on a shared level, and charges beyond borrow from
// the shared levels. Its methods are safe for concurrent use; charges on one
// account are admitted in the order they arrive.
type Account struct {
	b *Budget
	t *tree

	// Guarded by t.mu.
	limit     int64
	widest    int64 // the largest limit the account has had, or unbounded (see SetLimit)
	reserve   int64
	used      int64   // charged, including inflight's cost
	hold      int64   // held at every level above; hold+inflight.need == max(reserve, used)
	overdrawn int64   // charged by Overdraw and not yet released
	q         waitq   // charges not yet admitted
	inflight  *waiter // the admitted charge still borrowing, if any
	closed    bool
	waiting   int           // charges blocked in Charge
	since     time.Time     // when waiting last became non-zero
	blocked   time.Duration // time with waiting > 0, up to since
	waits     int64         // charges that had to wait

	prev, next *Account // tree.accounts
}

// Charge charges cost bytes to the account and every level above it,
// waiting until it fits at all of them. A charge that fits now succeeds even
// if ctx is done. Charge returns an error wrapping ctx.Err() if ctx is done
// first, a *TooLargeError (errors.Is ErrTooLarge) at once if cost can never
// fit, and ErrClosed if the account is or gets closed. A zero cost is a
// no-op; a negative one panics.
func (a *Account) Charge(ctx context.Context, cost int64) error {
	if cost <= 0 {
		checkCost(cost)
		return nil
	}
	a.t.mu.Lock()
	if err := a.refuse(cost); err != nil {
		a.t.mu.Unlock()
		return err
	}
	if a.tryCharge(cost) {
		a.t.mu.Unlock()
		return nil
	}
	w := getWaiter(a, cost)
	a.q.push(w)
	a.admit()
	a.beginWait()
	a.t.mu.Unlock()
	return a.wait(ctx, w)
}

func checkCost(cost int64) {
	if cost < 0 {
		panic(fmt.Sprintf("quota: negative cost %d", cost))
	}
}

func (a *Account) refuse(cost int64) error {
	if a.closed {
		return ErrClosed
	}
	if e := a.tooLarge(cost); e != nil {
		return e
	}
	return nil
}

// tooLarge returns an error if cost could never fit, even alone: above the
// widest limit the account has had, or above the account's reserve and the
// most a level has ever lent (its limit less its headroom). A cost above
// today's limits but within those was admissible once: it is charged alone
// (see fits and Budget.lends).
func (a *Account) tooLarge(cost int64) *TooLargeError {
	if cost > a.widest {
		return &TooLargeError{Cost: cost, Limit: a.limit, Level: LevelAssociation}
	}
	for l := a.b; l != nil; l = l.parent {
		if cost > l.widest && cost > a.reserve {
			return &TooLargeError{Cost: cost, Limit: l.lendLimit(), Level: l.name}
		}
	}
	return nil
}

// tryCharge charges cost if nothing is waiting and it fits now.
func (a *Account) tryCharge(cost int64) bool {
	if !a.q.empty() || a.inflight != nil || !a.fits(cost) {
		return false
	}
	need := a.used + cost - a.hold
	if need > 0 && !a.b.canLend(need) {
		return false
	}
	a.addUsed(cost)
	if need > 0 {
		a.hold += need
		a.b.addUsed(need, nil)
	}
	return true
}

// fits reports whether cost fits the account's limit now. A cost above the
// limit (one the limit admitted before SetLimit lowered it) fits alone, once
// the account holds no other charge.
func (a *Account) fits(cost int64) bool {
	return a.limit == 0 || a.used+cost <= a.limit || (cost > a.limit && a.used == 0)
}

// addUsed adds n (possibly negative) to the account's charge and to the
// charged bytes of every level above.
func (a *Account) addUsed(n int64) {
	a.used += n
	for l := a.b; l != nil; l = l.parent {
		l.charged += n
	}
}

// admit starts the waiting charges in order while the account's limit lets
// them in, one borrowing charge at a time.
func (a *Account) admit() {
	for a.inflight == nil {
		w := a.q.front()
		if w == nil || !a.fits(w.cost) {
			return
		}
		a.q.remove(w)
		a.start(w)
	}
}

// start charges w to the account and, if what the account holds does not
// cover it, makes it the inflight charge borrowing the rest.
func (a *Account) start(w *waiter) {
	a.addUsed(w.cost)
	need := a.used - a.hold
	if need <= 0 {
		w.finish(nil)
		return
	}
	w.need, w.at = need, a.b
	a.inflight = w
	w.advance()
}

func (a *Account) beginWait() {
	if a.waiting == 0 {
		a.since = time.Now()
		a.addBlocker(1, a.since)
	}
	a.waiting++
	a.waits++
}

func (a *Account) endWait() {
	a.waiting--
	if a.waiting == 0 {
		now := time.Now()
		a.blocked += now.Sub(a.since)
		a.addBlocker(-1, now)
	}
}

// addBlocker tells every level above that the account begins or ends waiting.
func (a *Account) addBlocker(d int, now time.Time) {
	for l := a.b; l != nil; l = l.parent {
		l.addBlocker(d, now)
	}
}

// wait blocks until w is finished or ctx is done.
func (a *Account) wait(ctx context.Context, w *waiter) error {
	select {
	case <-w.ready:
	case <-ctx.Done():
	}
	a.t.mu.Lock()
	if !w.done {
		a.abandon(w)
		w.err = fmt.Errorf("quota: charge of %d bytes: %w", w.cost, ctx.Err())
	}
	a.endWait()
	err := w.err
	a.t.mu.Unlock()
	putWaiter(w)
	return err
}

// abandon withdraws an unfinished charge.
func (a *Account) abandon(w *waiter) {
	if a.inflight != w {
		a.q.remove(w)
		a.admit()
		return
	}
	a.drop(w)
	a.settle()
}

// drop withdraws the inflight charge: gives back what it has borrowed so far
// and uncharges it. The caller finishes w and settles the account.
func (a *Account) drop(w *waiter) {
	w.rollback()
	a.inflight = nil
	a.addUsed(-w.cost)
}

// Release gives back cost bytes charged earlier and wakes the charges that
// now fit. Release on a closed account is a no-op (Close gave everything
// back). Releasing more than was charged, or a negative cost, panics.
func (a *Account) Release(cost int64) {
	if cost <= 0 {
		checkCost(cost)
		return
	}
	a.t.mu.Lock()
	defer a.t.mu.Unlock()
	if a.closed {
		return
	}
	if granted := a.granted(); cost > granted {
		panic(fmt.Sprintf("quota: release of %d bytes exceeds the %d charged", cost, granted))
	}
	a.addUsed(-cost)
	a.addOverdrawn(-min(a.overdrawn, cost)) // what was overdrawn goes first
	a.settle()
}

// granted returns the bytes charged by charges that have returned.
func (a *Account) granted() int64 {
	if w := a.inflight; w != nil {
		return a.used - w.cost
	}
	return a.used
}

// settle gives back what the account holds beyond its needs and serves the
// charges waiting above and on it.
func (a *Account) settle() {
	a.trim()
	for l := a.b; l != nil; l = l.parent {
		l.grant()
	}
	a.admit()
}

// trim restores hold+inflight.need == max(reserve, used) after used or
// reserve dropped: what is no longer needed comes first off the inflight
// charge's outstanding need, then goes back to the levels above.
func (a *Account) trim() {
	excess := a.hold - max(a.reserve, a.used)
	w := a.inflight
	if w != nil {
		excess += w.need
	}
	if excess <= 0 {
		return
	}
	if w != nil {
		d := min(excess, w.need)
		w.shrink(d)
		excess -= d
	}
	if excess > 0 {
		a.hold -= excess
		a.b.addUsed(-excess, nil)
	}
}

// SetLimit changes the account's limit; zero means none. Growing it wakes
// waiting charges; shrinking it below Used makes new charges wait until
// enough is released. Nothing is refused for being larger than the new
// limit if an earlier limit admitted it: such a charge, waiting now or made
// later, waits until the account holds nothing else and is then charged
// alone, beyond the limit by less than its own cost, so that a message read
// before a reload, or on an association set up under the old limit, is
// still relayed. A limit below the reserve shrinks the reserve too; growing
// the limit again does not grow the reserve back. SetLimit panics if n is
// negative.
func (a *Account) SetLimit(n int64) {
	checkLimit(n)
	a.t.mu.Lock()
	defer a.t.mu.Unlock()
	if a.closed {
		return
	}
	a.limit = n
	a.widest = max(a.widest, bound(n))
	if n > 0 && a.reserve > n {
		a.addReserved(n - a.reserve)
	}
	a.settle()
}

func (a *Account) addReserved(n int64) {
	a.reserve += n
	for l := a.b; l != nil; l = l.parent {
		l.reserved += n
	}
}

// Close gives back everything the account holds, its reserve included, and
// wakes the charges waiting on the levels above. Charges waiting on the
// account return ErrClosed, as does every later Charge; later Release calls
// are no-ops. Close is idempotent.
func (a *Account) Close() {
	a.t.mu.Lock()
	defer a.t.mu.Unlock()
	if a.closed {
		return
	}
	a.closed = true
	for w := a.q.front(); w != nil; w = a.q.front() {
		a.q.remove(w)
		w.finish(ErrClosed)
	}
	if w := a.inflight; w != nil {
		a.drop(w)
		w.finish(ErrClosed)
	}
	a.addUsed(-a.used)
	a.addOverdrawn(-a.overdrawn)
	a.addReserved(-a.reserve)
	a.b.addUsed(-a.hold, nil)
	a.hold = 0
	for l := a.b; l != nil; l = l.parent {
		l.accounts--
		l.grant()
	}
	a.t.accounts.remove(a)
}

// Budget returns the budget the account was opened on.
func (a *Account) Budget() *Budget { return a.b }

// Used returns the bytes charged to the account, including a charge that is
// still borrowing from the levels above.
func (a *Account) Used() int64 {
	a.t.mu.Lock()
	defer a.t.mu.Unlock()
	return a.used
}

// Limit returns the account's limit; zero means none.
func (a *Account) Limit() int64 {
	a.t.mu.Lock()
	defer a.t.mu.Unlock()
	return a.limit
}

// Reserved returns the account's reserve.
func (a *Account) Reserved() int64 {
	a.t.mu.Lock()
	defer a.t.mu.Unlock()
	return a.reserve
}

// Held returns the bytes the account holds at every level above it: its
// reserve, or its charges when they exceed it.
func (a *Account) Held() int64 {
	a.t.mu.Lock()
	defer a.t.mu.Unlock()
	return a.hold
}

// BlockedTime returns the total time during which at least one Charge on the
// account was waiting, including a wait still under way.
func (a *Account) BlockedTime() time.Duration {
	a.t.mu.Lock()
	defer a.t.mu.Unlock()
	return a.blockedTime()
}

func (a *Account) blockedTime() time.Duration {
	if a.waiting > 0 {
		return a.blocked + time.Since(a.since)
	}
	return a.blocked
}

// AccountSnapshot is an account's state at one instant, for status reports.
type AccountSnapshot struct {
	Limit    int64         // zero: none
	Reserved int64         // the reserve held since Open
	Used     int64         // bytes charged
	Held     int64         // bytes held at the levels above: max(Reserved, Used) once settled
	Waiting  int           // charges waiting now
	Waits    int64         // charges that had to wait, in total
	Blocked  time.Duration // time with at least one charge waiting
	Closed   bool
}

// Snapshot returns the account's current state.
func (a *Account) Snapshot() AccountSnapshot {
	a.t.mu.Lock()
	defer a.t.mu.Unlock()
	return AccountSnapshot{
		Limit:    a.limit,
		Reserved: a.reserve,
		Used:     a.used,
		Held:     a.hold,
		Waiting:  a.waiting,
		Waits:    a.waits,
		Blocked:  a.blockedTime(),
		Closed:   a.closed,
	}
}

// TryCharge charges cost if it fits now at every level, without waiting: false
// means the caller would have to wait (Charge then waits its turn). It fails,
// like Charge, with a *TooLargeError for a cost that can never fit and with
// ErrClosed after Close.
func (a *Account) TryCharge(cost int64) (bool, error) {
	if cost <= 0 {
		checkCost(cost)
		return true, nil
	}
	a.t.mu.Lock()
	defer a.t.mu.Unlock()
	if err := a.refuse(cost); err != nil {
		return false, err
	}
	return a.tryCharge(cost), nil
}

// Overdraw charges cost at once, beyond the account's limit and the levels'
// limits if need be, and fails only with ErrClosed. It is for a charge that must
// not wait and whose excess the caller bounds: the consumer gate sends a waiting
// message as a probe to learn whether its consumer has read what it holds (see
// package gate), and charges it here; and a relay charges here the copy it holds
// of a message whose own charge waits, since that memory is held already. While
// the account is over its limit, no other charge of it fits.
func (a *Account) Overdraw(cost int64) error {
	if cost <= 0 {
		checkCost(cost)
		return nil
	}
	a.t.mu.Lock()
	defer a.t.mu.Unlock()
	if a.closed {
		return ErrClosed
	}
	a.addUsed(cost)
	a.addOverdrawn(cost)
	if need := a.used - a.hold; need > 0 {
		a.hold += need
		a.b.addUsed(need, nil)
	}
	return nil
}

// OverdraftFits reports whether overdrawing cost more keeps what Overdraw has
// charged, and not yet released, within 1/share of the limit of the account and
// of every level above it that has one. The consumer gate probes at its fast
// rate only while it does: otherwise a thousand stalled associations, each
// within its own share, could overdraw the host's budget many times over.
func (a *Account) OverdraftFits(cost, share int64) bool {
	a.t.mu.Lock()
	defer a.t.mu.Unlock()
	if a.limit > 0 && a.overdrawn+cost > a.limit/share {
		return false
	}
	for l := a.b; l != nil; l = l.parent {
		if l.limit > 0 && l.overdrawn+cost > l.limit/share {
			return false
		}
	}
	return true
}

// Overdrawn returns what Overdraw has charged to the account and not yet
// released.
func (a *Account) Overdrawn() int64 {
	a.t.mu.Lock()
	defer a.t.mu.Unlock()
	return a.overdrawn
}

// addOverdrawn counts n more bytes (negative: fewer) overdrawn by the account,
// at every level.
func (a *Account) addOverdrawn(n int64) {
	a.overdrawn += n
	for l := a.b; l != nil; l = l.parent {
		l.overdrawn += n
	}
}
