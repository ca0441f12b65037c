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
// associations use all of it; live ones get the new quotas at once.
func (r *Relay) update(rc config.Relay) {
	r.cfg.Store(&rc)
	r.budget.SetLimit(rc.Quota.Socket)
	for _, a := range r.snapshot() {
		for _, acct := range a.accts {
			acct.SetLimit(rc.Quota.Association)
		}
	}
}
