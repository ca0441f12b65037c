package proxy

import (
	"cmp"
	"slices"

	"github.com/sctpguard/sctpguard/config"
)

// Name is the relay's configured name.
func (r *Relay) Name() string { return r.cfg.Load().Name }

// retire stops accepting and drains every association, including ones still being
// set up; it returns how many it drained. The relay's goroutine ends with its last
// association.
func (r *Relay) retire() int {
	r.draining.Store(true)
	if err := r.close(); err != nil && !closedErr(err) {
		r.log.Warn("close listener", "error", err)
	}
	assocs := r.snapshot()
	for _, a := range assocs {
		go a.drain() // assoc-drainer: ends when the pipe toward the front is between messages
	}
	return len(assocs)
}

// count is the number of associations the relay holds.
func (r *Relay) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.assocs)
}

func (r *Relay) snapshot() []*association {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*association, 0, len(r.assocs))
	for _, a := range r.assocs {
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y *association) int { return cmp.Compare(x.id, y.id) })
	return out
}

// update applies a reloaded configuration with the same listen addresses: new
// associations use all of it; live ones get the new quotas at once, for the
// messages they read from now on (a charge already waiting still goes, see
// quota.Account.SetLimit).
func (r *Relay) update(rc config.Relay) {
	r.cfg.Store(&rc)
	r.budget.SetLimit(rc.Quota.Socket)
	for _, a := range r.snapshot() {
		a.setQuota(rc.Quota.Association)
	}
}

// adopt makes a tracked association count in the relay's totals and gives it
// the association quota in force now: a reload while it was connecting
// updated only the associations tracked then. The caller holds r.mu, which
// orders this after or before update's snapshot: before, update sets the
// quota again; after, the configuration update stored first is read here.
func (r *Relay) adopt(a *association) {
	a.totals = &r.totals
	a.toUp.relayed, a.toFront.relayed = &r.totals.toUp, &r.totals.toFront
	a.setQuota(r.cfg.Load().Quota.Association)
}

func (a *association) setQuota(n int64) {
	for _, acct := range a.accts.each() {
		acct.SetLimit(n)
	}
}
