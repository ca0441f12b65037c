package proxy

import (
	"fmt"
	"sort"
	"time"

	"github.com/sctpguard/sctpguard/admin"
)

// Status is a snapshot of every relay and association, for the admin API.
func (s *Server) Status() admin.Status {
	st := admin.Status{
		Version: s.Version,
		Started: s.started,
		Global:  admin.Budget{Limit: s.global.Limit(), Used: s.global.Used()},
	}
	for _, r := range s.relays {
		rs, assocs := r.status()
		st.Relays = append(st.Relays, rs)
		st.Associations = append(st.Associations, assocs...)
	}
	sort.Slice(st.Associations, func(i, j int) bool { return st.Associations[i].ID < st.Associations[j].ID })
	return st
}

func (r *Relay) status() (admin.RelayStatus, []admin.AssocStatus) {
	cfg := r.cfg.Load()
	rs := admin.RelayStatus{
		Name:     cfg.Name,
		Listen:   stringsOf(cfg.Listen),
		Upstream: stringsOf(cfg.Upstream),
		Budget:   admin.Budget{Limit: r.budget.Limit(), Used: r.budget.Used()},
	}
	r.mu.Lock()
	assocs := make([]*association, 0, len(r.assocs))
	for _, a := range r.assocs {
		assocs = append(assocs, a)
	}
	r.mu.Unlock()
	rs.Associations = len(assocs)
	out := make([]admin.AssocStatus, 0, len(assocs))
	for _, a := range assocs {
		out = append(out, a.status())
	}
	return rs, out
}

func (a *association) status() admin.AssocStatus {
	up, front := a.accts[0], a.accts[1]
	st := admin.AssocStatus{
		ID: a.id, Relay: a.relay, Front: a.frontAddr, Upstream: a.upAddr,
		State:          a.state(),
		MsgsToUpstream: a.toUp.msgs.Load(), BytesToUpstream: a.toUp.bytes.Load(),
		MsgsToFront: a.toFront.msgs.Load(), BytesToFront: a.toFront.bytes.Load(),
		HeldToUpstream: up.Used(), HeldToFront: front.Used(), Quota: up.Limit(),
		KernelToUpstream: -1, KernelToFront: -1,
		Blocked: up.BlockedTime() + front.BlockedTime(),
		Age:     time.Since(a.started).Round(time.Millisecond),
	}
	if s, err := a.up.Status(); err == nil {
		st.PeerRwndUpstream = s.PeerRwnd
	}
	if s, err := a.front.Status(); err == nil {
		st.PeerRwndFront = s.PeerRwnd
	}
	return st
}

// state is ESTABLISHED while both legs relay, else what ends the association.
func (a *association) state() string {
	if r, _ := a.reason.Load().(string); r != "" {
		return "ENDING(" + r + ")"
	}
	return "ESTABLISHED"
}

func stringsOf[T fmt.Stringer](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.String()
	}
	return out
}
