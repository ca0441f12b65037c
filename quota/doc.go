// Package quota holds the cost model and the memory budgets of sctpguard.
//
// Every relayed message is charged its true cost — payload plus the
// per-message memory the kernel spends on it (see CostModel) — against three
// levels at once: the host (a global Budget), the socket (a Budget per
// listener or relay, whose parent is the global one) and the association
// (an Account per association and direction). A charge must fit at every
// level. Charge blocks until it does, so a reader that charges a message
// before it reads the next stops reading when a budget is full, and SCTP
// flow control pushes back on the producer.
//
// # Fairness
//
// When an Account is opened it takes a reserve from its socket and the
// global budget at once, and keeps it until Close. Charges that fit in the
// reserve never wait on a shared level, so a quiet association makes
// progress however hard another one floods. Beyond its reserve an
// association borrows from what nobody has reserved, first come first
// served: each level keeps a FIFO queue, a large waiter at its head is never
// overtaken by small ones, and a charge waits only in the queue of the level
// that is full (its own association, its socket, or the host), so a full
// association or a full socket does not hold up the others. Open fails fast
// with ErrExhausted when a reserve cannot be had: the daemon refuses the new
// association with a log line rather than degrading those it already has.
// Give each association a reserve of at least the cost of its largest
// message, so that it can always have one message in flight.
//
// Borrowing never takes a level's headroom (an eighth of its limit by
// default; SetHeadroom): that part is for reserves alone. So while floods
// have borrowed all they may, new associations still open with their
// reserves and are served at once, until the headroom itself is all
// reserved; only then is Open refused, until borrowers release. An attacker
// can fill the host's budget, but neither take memory from associations
// already open nor keep new ones out.
//
// # Limits
//
// A limit of zero means no limit at that level. Every limit can be changed
// while charges are held and waiting (SetLimit): growing wakes waiters;
// shrinking below what is held is allowed, and new charges wait until enough
// is released. Shrinking never fails a charge an earlier limit admitted,
// waiting or made later: one larger than the new limit waits until it is
// alone at that level and is then charged beyond the limit, by less than its
// own cost (one message). Only a cost above every limit a level has had
// returns a *TooLargeError.
//
// # Locking
//
// All budgets and accounts of one tree (a global budget and everything under
// it) share one mutex, held for a few additions per level in Charge and
// Release. Uncontended Charge and Release do not allocate.
//
// # Typical use
//
//	model := quota.CostModel{Header: h, Overhead: o} // from calibrate; zero: defaults
//	global := quota.NewBudget("global", 256<<20, nil)
//	socket := quota.NewBudget("diameter", 0, global) // bounded by global only
//
//	// For each association direction:
//	acct, err := socket.Open(1<<20, 0) // 1 MiB; reserve: DefaultReserve
//	if err != nil {
//		return fmt.Errorf("accept association: %w", err) // ErrExhausted: refuse it
//	}
//	defer acct.Close()
//
//	// Before reading each message, charge the largest one possible:
//	most := model.Cost(maxMessage)
//	if err := acct.Charge(ctx, most); err != nil {
//		return err // ctx done, ErrTooLarge or ErrClosed
//	}
//	n, err := read(buf)
//	cost := model.Cost(n)
//	acct.Release(most - cost) // what the message did not need
//	// ... and once the kernel has let the message go:
//	acct.Release(cost)
package quota
