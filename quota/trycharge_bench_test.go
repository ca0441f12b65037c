package quota

import (
	"context"
	"testing"
	"time"
)

// BenchmarkTryChargeRelease is the relay's per-message path: it prices a
// message (CostModel.Cost), tries to charge it without waiting, and later
// releases the charges of a batch of messages at once, as a pipe does when
// the kernel reports them gone. Should not allocate.
func BenchmarkTryChargeRelease(b *testing.B) {
	const batch = 16
	for _, bc := range []struct {
		name string
		used int64
	}{{"reserve", 0}, {"borrow", DefaultReserve}} {
		b.Run(bc.name, func(b *testing.B) {
			g := NewBudget("global", 1<<30, nil)
			a := mustOpen(b, NewBudget("socket", 0, g), 4<<20, 0)
			mustCharge(b, a, bc.used+1)
			model := CostModel{}
			var held int64
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				cost := model.Cost(100)
				ok, err := a.TryCharge(cost)
				if !ok || err != nil {
					b.Fatalf("TryCharge(%d): %v, %v", cost, ok, err)
				}
				held += cost
				if n++; n == batch {
					a.Release(held)
					held, n = 0, 0
				}
			}
			a.Release(held)
		})
	}
}

// BenchmarkTryChargeFull is TryCharge on a full account: what a pipe pays
// for each retry while its quota is exhausted.
func BenchmarkTryChargeFull(b *testing.B) {
	g := NewBudget("global", 1<<30, nil)
	a := mustOpen(b, NewBudget("socket", 0, g), 1<<20, 0)
	mustCharge(b, a, 1<<20)
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := a.TryCharge(2148); ok || err != nil {
			b.Fatalf("TryCharge on a full account: %v, %v", ok, err)
		}
	}
}

// BenchmarkChargeTimeout is a charge that waits on a full account with a
// deadline, the way a pipe waits between looks at what the kernel still
// holds: context.WithTimeout, queueing, and the timeout. Its ns/op is
// mostly the timer's granularity; its allocations are the point: the
// context and its timer (the caller's, 4 of them) and the wait's own.
func BenchmarkChargeTimeout(b *testing.B) {
	g := NewBudget("global", 1<<30, nil)
	a := mustOpen(b, NewBudget("socket", 0, g), 1<<20, 0)
	mustCharge(b, a, 1<<20)
	b.ReportAllocs()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Microsecond)
		if err := a.Charge(ctx, 2148); err == nil {
			b.Fatal("a charge on a full account succeeded")
		}
		cancel()
	}
}
