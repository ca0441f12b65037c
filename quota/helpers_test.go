package quota

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// eventually is how long tests wait for something that should happen at
// once; it only bounds a failing test.
const eventually = 5 * time.Second

func mustOpen(t testing.TB, b *Budget, limit, reserve int64) *Account {
	t.Helper()
	a, err := b.Open(limit, reserve)
	if err != nil {
		t.Fatalf("Open(%d, %d): %v", limit, reserve, err)
	}
	t.Cleanup(a.Close)
	return a
}

func mustCharge(t testing.TB, a *Account, cost int64) {
	t.Helper()
	if err := a.Charge(context.Background(), cost); err != nil {
		t.Fatalf("Charge(%d): %v", cost, err)
	}
}

// goCharge charges in a new goroutine and returns its result channel.
func goCharge(ctx context.Context, a *Account, cost int64) <-chan error {
	done := make(chan error, 1)
	go func() { done <- a.Charge(ctx, cost) }()
	return done
}

// waitUntil polls cond until it holds.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(eventually)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitBlocked waits until n charges are blocked in Charge on a.
func waitBlocked(t testing.TB, a *Account, n int) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%d charges wait", n), func() bool { return a.Snapshot().Waiting == n })
}

func assertPending(t testing.TB, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("charge returned %v while it should wait", err)
	default:
	}
}

func result(t testing.TB, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(eventually):
		t.Fatal("charge still waiting")
		return nil
	}
}

// checkInvariants verifies the bookkeeping of the whole tree of root at one
// instant. With bounded, it also checks Used <= Limit at every level.
func checkInvariants(t testing.TB, root *Budget, budgets []*Budget, bounded bool) {
	t.Helper()
	root.t.mu.Lock()
	defer root.t.mu.Unlock()
	type sums struct {
		used, reserved, charged int64
		accounts                int
	}
	want := make(map[*Budget]*sums, len(budgets))
	for _, b := range budgets {
		want[b] = new(sums)
	}
	for a := root.t.accounts.head; a != nil; a = a.next {
		checkAccount(t, a, bounded)
		for l, partial := a.b, a.inflight != nil; l != nil; l = l.parent {
			s := want[l]
			if a.inflight != nil && l == a.inflight.at {
				partial = false
			}
			s.used += a.hold
			if partial {
				s.used += a.inflight.need
			}
			s.reserved += a.reserve
			s.charged += a.used
			s.accounts++
		}
	}
	for _, b := range budgets {
		s := want[b]
		got := sums{b.used, b.reserved, b.charged, b.accounts}
		if got != *s {
			t.Errorf("budget %s: used, reserved, charged, accounts = %v, want %v", b.name, got, *s)
		}
		if bounded && b.limit > 0 && b.used > b.limit {
			t.Errorf("budget %s: used %d > limit %d", b.name, b.used, b.limit)
		}
	}
}

func checkAccount(t testing.TB, a *Account, bounded bool) {
	t.Helper()
	var need int64
	if a.inflight != nil {
		need = a.inflight.need
		if need <= 0 || a.inflight.at == nil {
			t.Errorf("inflight charge with need %d at %v", need, a.inflight.at)
		}
	}
	if a.hold < a.reserve || a.hold+need != max(a.reserve, a.used) {
		t.Errorf("account: hold %d + need %d, reserve %d, used %d", a.hold, need, a.reserve, a.used)
	}
	if bounded && a.limit > 0 && a.used > a.limit {
		t.Errorf("account: used %d > limit %d", a.used, a.limit)
	}
}
