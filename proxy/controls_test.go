package proxy

import (
	"net/netip"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sctpguard/sctpguard/admin"
	"github.com/sctpguard/sctpguard/config"
	"github.com/sctpguard/sctpguard/gate"
	"github.com/sctpguard/sctpguard/quota"
)

// admit lets at most max_connecting associations wait for their upstream
// connect, counts them out as handle does, and follows a reload at once.
func TestAdmitBounded(t *testing.T) {
	rc := config.DefaultRelay("r")
	rc.MaxConnecting = 2
	r := newRelay(rc, quota.NewBudget("global", 0, nil), quota.CostModel{}, gate.NewObserver(), hclog.NewNullLogger())
	for i := range 2 {
		if !r.admit() {
			t.Fatalf("refused association %d of the first two", i+1)
		}
	}
	if r.admit() {
		t.Fatal("admitted a third with max_connecting = 2")
	}
	r.connecting.Add(-1) // one paired
	if !r.admit() {
		t.Error("refused one after another was paired")
	}
	rc.MaxConnecting = 3
	r.update(rc)
	if !r.admit() {
		t.Error("refused one after a reload raised max_connecting")
	}
	if got := r.connecting.Load(); got != 3 {
		t.Errorf("connecting = %d, want 3", got)
	}
}

func TestClassifyStalled(t *testing.T) {
	err := &legError{leg: "upstream", op: "write", err: &stallError{dir: toUpstream, after: 30 * time.Second, held: 1 << 20, limit: 1 << 20}}
	if got := classify(err); got != admin.EndStalled {
		t.Errorf("classify(%v) = %q, want %q", err, got, admin.EndStalled)
	}
}

func TestSameAddr(t *testing.T) {
	v4 := netip.MustParseAddrPort("192.0.2.10:3868")
	for _, c := range []struct {
		x, y netip.AddrPort
		want bool
	}{
		{v4, v4, true},
		{netip.MustParseAddrPort("[::ffff:192.0.2.10]:3868"), v4, true},
		{netip.MustParseAddrPort("192.0.2.10:3869"), v4, false},
		{netip.MustParseAddrPort("192.0.2.11:3868"), v4, false},
		{v4, netip.AddrPort{}, false},
	} {
		if got := sameAddr(c.x, c.y); got != c.want {
			t.Errorf("sameAddr(%v, %v) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
}
