package proxy

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/sctpguard/sctpguard/admin"
	"github.com/sctpguard/sctpguard/gate"
)

// Status is a snapshot of every relay and association, for the admin API: the
// summary, and each association's counters and what the kernel holds for it.
func (s *Server) Status() admin.Status {
	st, relays := s.summary()
	kernel := openKernelView()
	defer kernel.close()
	for _, r := range relays {
		for _, a := range r.snapshot() {
			st.Associations = append(st.Associations, a.status(kernel))
		}
	}
	sort.Slice(st.Associations, func(i, j int) bool { return st.Associations[i].ID < st.Associations[j].ID })
	return st
}

// Summary is Status without the associations: the budgets and every relay's
// counters, read from what the relays keep as they work. It asks the kernel
// nothing and does no work per association, so a metrics scrape costs the
// same with ten associations or ten thousand.
func (s *Server) Summary() admin.Status {
	st, _ := s.summary()
	return st
}

func (s *Server) summary() (admin.Status, []*Relay) {
	st := admin.Status{
		Version: s.Version,
		Started: s.started,
		Global:  admin.Budget{Limit: s.global.Limit(), Used: s.global.Used()},
	}
	s.mu.Lock()
	relays := append(slices.Clone(s.relays), s.retiring...)
	s.mu.Unlock()
	for _, r := range relays {
		st.Relays = append(st.Relays, r.summary())
	}
	return st, relays
}

func (r *Relay) summary() admin.RelayStatus {
	cfg := r.cfg.Load()
	b := r.budget.Snapshot()
	rs := admin.RelayStatus{
		Name:        cfg.Name,
		Listen:      stringsOf(cfg.Listen),
		Upstream:    stringsOf(cfg.Upstream),
		Transparent: cfg.Transparent,
		Budget:      admin.Budget{Limit: b.Limit, Used: b.Used},
		ListenStyle: cfg.ListenStyle,
		Draining:    r.draining.Load(),
		Held:        b.Charged,
		Totals:      r.totals.snapshot(),
	}
	rs.Totals.Blocked = r.budget.BlockedTime()
	if r.front != nil {
		rs.Shared = r.front.status() // a shared socket's queue is charged to the budget
	}
	if rs.Shared != nil {
		rs.Totals.Dropped = mergeDrops(rs.Totals.Dropped, rs.Shared.DroppedBy)
	}
	rs.Associations = r.count()
	rs.Ending = min(int(r.totals.ending.Load()), rs.Associations)
	return rs
}

func (a *association) status(kernel *kernelView) admin.AssocStatus {
	up, front := a.accts.toUp, a.accts.toFront
	st := admin.AssocStatus{
		ID: a.id, Relay: a.relay, Front: a.frontAddr, Upstream: a.upAddr, OriginalDst: addrString(a.origDst),
		State:          a.state(),
		MsgsToUpstream: a.toUp.msgs.Load(), BytesToUpstream: a.toUp.bytes.Load(),
		MsgsToFront: a.toFront.msgs.Load(), BytesToFront: a.toFront.bytes.Load(),
		HeldToUpstream: up.Used(), HeldToFront: front.Used(), Quota: up.Limit(),
		KernelToUpstream: -1, KernelToFront: -1,
		Blocked: a.blocked(),
		Age:     time.Since(a.started).Round(time.Millisecond),
	}
	st.GateToUpstream, st.GateToFront = gateStatus(a.toUp.gate), gateStatus(a.toFront.gate)
	st.QueuedToUpstream = a.front.queuedCost()
	st.HeldToUpstream += st.QueuedToUpstream
	if f, u, ok := kernel.legs(a); ok {
		// Toward upstream: the front leg's receive queue and the upstream leg's
		// send queue; toward the front, the other two.
		st.KernelToUpstream = int64(f.RQueue) + int64(u.WQueue)
		st.KernelToFront = int64(u.RQueue) + int64(f.WQueue)
	}
	if s, err := a.up.Status(); err == nil {
		st.PeerRwndUpstream = s.PeerRwnd
	}
	if s, err := a.front.Status(); err == nil {
		st.PeerRwndFront = s.PeerRwnd
	}
	a.addPaths(&st)
	return st
}

// state is ESTABLISHED while both legs relay, else what ends the association.
func (a *association) state() admin.AssocState {
	if a.draining.Load() {
		return admin.StateDraining
	}
	if r := a.endReason(); r != "" {
		return admin.Ending(r)
	}
	return admin.StateEstablished
}

func stringsOf[T fmt.Stringer](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.String()
	}
	return out
}

func gateStatus(g *gate.Gate) admin.GateStatus {
	s := g.Status()
	return admin.GateStatus{Source: s.Source, Unread: s.Unread, Window: s.Window, HeldMsgs: s.Held, Probes: s.Probes}
}

// addrString formats ap, or "" when it is invalid.
func addrString(ap netip.AddrPort) string {
	if !ap.IsValid() {
		return ""
	}
	return ap.String()
}
