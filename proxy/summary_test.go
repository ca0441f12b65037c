package proxy

import (
	"errors"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/sctpguard/sctpguard/admin"
	"github.com/sctpguard/sctpguard/config"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// kernelLeg is a leg that counts every question put to its kernel (status,
// queues, paths, addresses) and answers none: what Summary must never ask
// per association. The other methods are not called by the code under test.
type kernelLeg struct {
	leg
	asked *atomic.Int64
}

var errNoKernel = errors.New("no kernel in this test")

func (l kernelLeg) Status() (sctpsock.Status, error) {
	l.asked.Add(1)
	return sctpsock.Status{}, errNoKernel
}
func (l kernelLeg) SendQueued() (int, error) { l.asked.Add(1); return 0, errNoKernel }
func (l kernelLeg) Paths() ([]sctpsock.PathInfo, error) {
	l.asked.Add(1)
	return nil, errNoKernel
}
func (l kernelLeg) LocalAddrs() ([]netip.AddrPort, error) { l.asked.Add(1); return nil, errNoKernel }
func (l kernelLeg) PeerAddrs() ([]netip.AddrPort, error)  { l.asked.Add(1); return nil, errNoKernel }
func (l kernelLeg) queuedCost() int64                     { return 0 }

// trackedAssociation builds an association of r on kernelLegs, as pair does,
// and tracks it.
func trackedAssociation(t *testing.T, r *Relay, id uint64, asked *atomic.Int64) *association {
	t.Helper()
	a := openedAssociation(t, r, id, asked)
	addPipes(t, r, a)
	return a
}

// openedAssociation is an association of r on kernelLegs whose accounts are
// open, as pair has it before it dials upstream: no pipes, not tracked.
func openedAssociation(t *testing.T, r *Relay, id uint64, asked *atomic.Int64) *association {
	t.Helper()
	a := &association{id: id, relay: r.Name(), log: hclog.NewNullLogger(),
		front: kernelLeg{asked: asked}, up: kernelLeg{asked: asked}}
	accts, err := r.openAccounts(r.cfg.Load())
	if err != nil {
		t.Fatal(err)
	}
	a.accts = accts
	return a
}

// addPipes builds a's pipes, as pair does once upstream answered, and tracks
// it until the test ends.
func addPipes(t *testing.T, r *Relay, a *association) {
	t.Helper()
	a.toUp = r.newPipe(a, toUpstream, a.front, a.up, 10, 0, a.accts.toUp)
	a.toFront = r.newPipe(a, toFront, a.up, a.front, 10, 0, a.accts.toFront)
	r.track(a)
	t.Cleanup(func() {
		r.untrack(a)
		for _, acct := range a.accts.each() {
			acct.Close()
		}
	})
}

// TestSummaryAsksNoKernel: the summary a metrics scrape reads asks the
// kernel nothing about any association, however many there are, and still
// counts what they relayed, how many are ending, what they hold and why
// they ended; the full status asks about every one.
func TestSummaryAsksNoKernel(t *testing.T) {
	cfg := config.Default()
	cfg.Relays = []config.Relay{config.DefaultRelay("diameter")}
	s := NewServer(cfg, hclog.NewNullLogger())
	r := s.Relays()[0]
	var asked atomic.Int64
	const n = 200
	var as []*association
	for i := range n {
		as = append(as, trackedAssociation(t, r, uint64(i+1), &asked))
	}
	if err := as[0].accts.toUp.Charge(t.Context(), 3000); err != nil {
		t.Fatal(err)
	}
	as[1].toUp.sent(3000, 100, false)
	as[2].setReason(admin.EndShutdown)
	asked.Store(0)

	st := s.Summary()
	if q := asked.Load(); q != 0 {
		t.Fatalf("Summary asked the kernel %d questions about %d associations, want none", q, n)
	}
	rs := st.Relays[0]
	if rs.Associations != n || rs.Ending != 1 || rs.Held != 3000 ||
		rs.Totals.MsgsToUpstream != 1 || rs.Totals.BytesToUpstream != 100 || len(st.Associations) != 0 {
		t.Fatalf("summary: %d associations, %d ending, %d held, %d messages (%d bytes) to upstream, %d rows; want %d, 1, 3000, 1 (100), 0",
			rs.Associations, rs.Ending, rs.Held, rs.Totals.MsgsToUpstream, rs.Totals.BytesToUpstream, len(st.Associations), n)
	}
	r.totals.add(as[2]) // as handle does once it has run
	if rs := s.Summary().Relays[0]; rs.Ending != 0 || rs.Totals.Ended[admin.EndShutdown] != 1 {
		t.Fatalf("after the end: %d ending, ended %v; want 0 and shutdown 1", rs.Ending, rs.Totals.Ended)
	}

	full := s.Status()
	if q := asked.Load(); q < 2*n {
		t.Fatalf("Status asked %d questions about %d associations: the test does not see the kernel", q, n)
	}
	if len(full.Associations) != n || full.Relays[0].Totals.MsgsToUpstream != 1 {
		t.Fatalf("status: %d rows, %d messages; want %d and the summary's 1", len(full.Associations), full.Relays[0].Totals.MsgsToUpstream, n)
	}
}

// TestConnectingAssociationGetsReloadedQuota: an association whose accounts
// were opened before a reload but that was tracked after it (it was still
// connecting upstream) relays under the reloaded quota, as the live ones do.
func TestConnectingAssociationGetsReloadedQuota(t *testing.T) {
	cfg := config.Default()
	cfg.Relays = []config.Relay{config.DefaultRelay("diameter")}
	s := NewServer(cfg, hclog.NewNullLogger())
	r := s.Relays()[0]
	old := r.cfg.Load().Quota.Association
	var asked atomic.Int64
	live := trackedAssociation(t, r, 1, &asked)

	connecting := openedAssociation(t, r, 2, &asked) // as pair does before it dials
	rc := *r.cfg.Load()
	rc.Quota.Association = old / 2
	r.update(rc) // the reload, while it connects
	addPipes(t, r, connecting)
	for _, a := range []*association{live, connecting} {
		for i, acct := range a.accts.each() {
			if got := acct.Limit(); got != old/2 {
				t.Errorf("association %d, direction %d: quota %d after the reload, want %d (was %d)", a.id, i, got, old/2, old)
			}
		}
	}
}
