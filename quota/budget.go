package quota

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// DefaultReserve is the reserve an Account takes when Open is given zero,
// capped at the account's limit.
const DefaultReserve = 64 << 10

// DefaultHeadroomDivisor sets a Budget's default headroom: 1/8 of its limit.
//
// A budget lends bytes to charges beyond their accounts' reserves only up to
// its limit less its headroom; the headroom is for reserves alone. So however
// hard floods borrow, new accounts can still be opened with their reserves
// (an eighth of a 16 MiB budget holds the reserves of 16 associations with
// the default reserve both ways), and as borrowers release, what they free
// stays out of their reach until the borrowed bytes are back under the line.
const DefaultHeadroomDivisor = 8

// tree is what every budget and account under one root budget shares.
type tree struct {
	mu       sync.Mutex
	accounts accountList // open accounts, for checks after a limit shrinks
}

// Budget is a shared level of the hierarchy: the host (no parent) or a
// socket (parent: the host's budget). Accounts are opened on it; every byte
// it lends them is also taken from each of its ancestors.
type Budget struct {
	name   string
	parent *Budget
	t      *tree

	// Guarded by t.mu.
	limit     int64
	headroom  int64 // kept for reserves; negative: limit / DefaultHeadroomDivisor
	widest    int64 // the most the level has ever lent one charge (lendLimit), or unbounded
	used      int64 // reserves, borrowed bytes and waiters' partial grants
	reserved  int64 // sum of the reserves of accounts under this level
	charged   int64 // sum of Account.Used under this level
	overdrawn int64 // sum of Account.Overdrawn under this level
	accounts  int   // open accounts under this level
	q         waitq // charges waiting for this level

	blockers     int           // accounts under this level with a charge waiting
	blockedSince time.Time     // when blockers last changed
	blocked      time.Duration // the sum of their blocked times, up to blockedSince
}

// NewBudget returns a budget named name (used in errors and snapshots)
// holding at most limit bytes. If limit is zero, this level has no limit of
// its own. If parent is not nil, every byte charged here is also charged to
// parent and its ancestors. NewBudget panics if limit is negative.
func NewBudget(name string, limit int64, parent *Budget) *Budget {
	checkLimit(limit)
	b := &Budget{name: name, parent: parent, limit: limit, headroom: -1}
	b.widest = b.lendBound()
	if parent != nil {
		b.t = parent.t
	} else {
		b.t = new(tree)
	}
	return b
}

func checkLimit(n int64) {
	if n < 0 {
		panic(fmt.Sprintf("quota: negative limit %d", n))
	}
}

// Name returns the budget's name.
func (b *Budget) Name() string { return b.name }

// Parent returns the budget's parent, or nil.
func (b *Budget) Parent() *Budget { return b.parent }

// Limit returns the current limit; zero means none.
func (b *Budget) Limit() int64 {
	b.t.mu.Lock()
	defer b.t.mu.Unlock()
	return b.limit
}

// Used returns the bytes committed at this level: the accounts' reserves in
// full, whether or not messages fill them, plus what they borrowed beyond.
// This is what Limit bounds.
func (b *Budget) Used() int64 {
	b.t.mu.Lock()
	defer b.t.mu.Unlock()
	return b.used
}

// Reserved returns the sum of the reserves held by accounts under this
// level.
func (b *Budget) Reserved() int64 {
	b.t.mu.Lock()
	defer b.t.mu.Unlock()
	return b.reserved
}

// Charged returns the bytes charged by messages under this level (the sum of
// Account.Used); it is at most Used.
func (b *Budget) Charged() int64 {
	b.t.mu.Lock()
	defer b.t.mu.Unlock()
	return b.charged
}

// SetLimit changes the limit; zero means none. Growing it wakes waiting
// charges. Shrinking it below Used is allowed: charges that need this level
// wait until enough is released. A charge this level lent to before but no
// longer can (larger than the new limit less the headroom) is not refused:
// it waits until nothing else borrows from the level and then borrows alone,
// as Account.SetLimit describes. SetLimit panics if n is negative.
func (b *Budget) SetLimit(n int64) {
	checkLimit(n)
	b.t.mu.Lock()
	defer b.t.mu.Unlock()
	b.limit = n
	b.widen()
	b.recheck()
}

// lendBound is the most the level lends one charge now.
func (b *Budget) lendBound() int64 {
	if b.limit == 0 {
		return unbounded
	}
	return b.lendLimit()
}

// widen records the level's current lend bound in widest, which only grows.
func (b *Budget) widen() { b.widest = max(b.widest, b.lendBound()) }

// unbounded is the bound of a level or account without a limit.
const unbounded = math.MaxInt64

// bound is the most a limit admits: unbounded for zero.
func bound(limit int64) int64 {
	if limit == 0 {
		return unbounded
	}
	return limit
}

// BlockedTime returns the sum over every account opened under this level,
// closed ones included, of the time it had a charge waiting (as
// Account.BlockedTime counts it). It does no work per account.
func (b *Budget) BlockedTime() time.Duration {
	b.t.mu.Lock()
	defer b.t.mu.Unlock()
	return b.blockedUntil(time.Now())
}

func (b *Budget) blockedUntil(now time.Time) time.Duration {
	return b.blocked + time.Duration(b.blockers)*now.Sub(b.blockedSince)
}

// addBlocker counts an account under this level that begins (+1) or ends (-1)
// waiting at now.
func (b *Budget) addBlocker(d int, now time.Time) {
	b.blocked = b.blockedUntil(now)
	b.blockedSince = now
	b.blockers += d
}

// Headroom returns the bytes of the limit kept for reserves: borrowing charges
// never take them (see DefaultHeadroomDivisor).
func (b *Budget) Headroom() int64 {
	b.t.mu.Lock()
	defer b.t.mu.Unlock()
	return b.room()
}

// SetHeadroom sets the bytes of the limit kept for reserves; a negative n
// restores the default, a fraction of the limit that follows it
// (DefaultHeadroomDivisor), and zero lets borrowers take everything that is
// not reserved. Growing it makes borrowing charges wait until enough is
// released; one the level can no longer lend to borrows alone, as SetLimit
// describes.
func (b *Budget) SetHeadroom(n int64) {
	b.t.mu.Lock()
	defer b.t.mu.Unlock()
	b.headroom = max(n, -1)
	b.widen()
	b.recheck()
}

func (b *Budget) room() int64 {
	if b.headroom < 0 {
		return b.limit / DefaultHeadroomDivisor
	}
	return min(b.headroom, b.limit)
}

// recheck serves the charges that fit after a change of the limit or the
// headroom. None becomes impossible: the bounds a charge is refused beyond
// (widest) only grow.
func (b *Budget) recheck() { b.grant() }

// Open opens an Account on this budget: one association direction holding
// at most limit bytes (if zero, no limit of its own), with reserve bytes
// taken at once from this budget and each ancestor and kept until Close.
// If reserve is zero, DefaultReserve is used; if negative, none. The reserve
// is capped at limit. Open returns an error wrapping ErrExhausted, naming the
// level, if a budget cannot provide the reserve. It panics if limit is
// negative.
func (b *Budget) Open(limit, reserve int64) (*Account, error) {
	checkLimit(limit)
	r := effectiveReserve(limit, reserve)
	b.t.mu.Lock()
	defer b.t.mu.Unlock()
	if l := b.lacking(r); l != nil {
		return nil, fmt.Errorf("quota: reserve of %d bytes: %s budget has %d of %d bytes in use: %w",
			r, l.name, l.used, l.limit, ErrExhausted)
	}
	a := &Account{b: b, t: b.t, limit: limit, widest: bound(limit), reserve: r, hold: r}
	for l := b; l != nil; l = l.parent {
		l.used += r
		l.reserved += r
		l.accounts++
	}
	b.t.accounts.push(a)
	return a, nil
}

func effectiveReserve(limit, reserve int64) int64 {
	switch {
	case reserve == 0:
		reserve = DefaultReserve
	case reserve < 0:
		reserve = 0
	}
	if limit > 0 {
		reserve = min(reserve, limit)
	}
	return reserve
}

// lacking returns the first level, from b up, that cannot reserve n bytes
// now, or nil.
func (b *Budget) lacking(n int64) *Budget {
	for l := b; l != nil; l = l.parent {
		if !l.fits(n) {
			return l
		}
	}
	return nil
}

// fits reports whether n more bytes of reserve fit the limit.
func (b *Budget) fits(n int64) bool {
	return b.limit == 0 || b.used+n <= b.limit
}

// lends reports whether n more bytes can be lent to a charge beyond its
// account's reserve: they must fit the limit less the headroom. Since the
// limit shrank, a charge that cannot fit beside the reserves any more is lent
// to alone, once the level lends nothing else (see SetLimit).
func (b *Budget) lends(n int64) bool {
	if b.limit == 0 || b.used+n <= b.lendLimit() {
		return true
	}
	return b.widest > b.lendLimit() && b.reserved+n > b.lendLimit() && b.used <= b.reserved
}

// lendLimit is what borrowing may fill the level up to; only with a limit.
func (b *Budget) lendLimit() int64 { return b.limit - b.room() }

// canLend reports whether n bytes can be lent at every level from b up
// without overtaking a waiting charge.
func (b *Budget) canLend(n int64) bool {
	for l := b; l != nil; l = l.parent {
		if !l.q.empty() || !l.lends(n) {
			return false
		}
	}
	return true
}

// addUsed adds n (possibly negative) to used at every level from b up to,
// not including, stop.
func (b *Budget) addUsed(n int64, stop *Budget) {
	for l := b; l != stop; l = l.parent {
		l.used += n
	}
}

// grant serves the waiting charges of this level in order, until the one at
// the head does not fit.
func (b *Budget) grant() {
	for w := b.q.front(); w != nil; w = b.q.front() {
		if !b.lends(w.need) {
			return
		}
		b.q.remove(w)
		b.used += w.need
		w.at = b.parent
		if w.advance() {
			w.a.admit()
		}
	}
}

// BudgetSnapshot is a budget's state at one instant, for status reports.
type BudgetSnapshot struct {
	Name     string
	Limit    int64 // zero: none
	Headroom int64 // bytes of Limit kept for reserves
	Used     int64 // reserves plus borrowed bytes; bounded by Limit
	Reserved int64 // reserves of the accounts under this level
	Charged  int64 // bytes charged by messages under this level
	Accounts int   // open accounts under this level
	Waiting  int   // charges waiting for this level
}

// Snapshot returns the budget's current state.
func (b *Budget) Snapshot() BudgetSnapshot {
	b.t.mu.Lock()
	defer b.t.mu.Unlock()
	return BudgetSnapshot{
		Name:     b.name,
		Limit:    b.limit,
		Headroom: b.room(),
		Used:     b.used,
		Reserved: b.reserved,
		Charged:  b.charged,
		Accounts: b.accounts,
		Waiting:  b.q.len(),
	}
}

// accountList is the list of a tree's open accounts.
type accountList struct{ head *Account }

func (l *accountList) push(a *Account) {
	a.next = l.head
	if l.head != nil {
		l.head.prev = a
	}
	l.head = a
}

func (l *accountList) remove(a *Account) {
	if a.prev == nil {
		l.head = a.next
	} else {
		a.prev.next = a.next
	}
	if a.next != nil {
		a.next.prev = a.prev
	}
	a.prev, a.next = nil, nil
}
