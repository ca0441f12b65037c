package quota

import (
	"context"
	"sync/atomic"
	"testing"
)

// BenchmarkChargeRelease is one reader charging and releasing a message on
// an otherwise idle tree, within the reserve and borrowing beyond it.
func BenchmarkChargeRelease(b *testing.B) {
	for _, bc := range []struct {
		name string
		used int64
	}{{"reserve", 0}, {"borrow", DefaultReserve}} {
		b.Run(bc.name, func(b *testing.B) {
			g := NewBudget("global", 1<<30, nil)
			a := mustOpen(b, NewBudget("socket", 0, g), 1<<20, 0)
			mustCharge(b, a, bc.used+1) // keep the next charge at the wanted level
			ctx := context.Background()
			cost := CostModel{}.Cost(100)
			b.ReportAllocs()
			for b.Loop() {
				if err := a.Charge(ctx, cost); err != nil {
					b.Fatal(err)
				}
				a.Release(cost)
			}
		})
	}
}

// BenchmarkChargeReleaseParallel is one account per goroutine on a shared
// socket and global budget with room for all: the cost of the shared lock.
func BenchmarkChargeReleaseParallel(b *testing.B) {
	g := NewBudget("global", 1<<30, nil)
	s := NewBudget("socket", 0, g)
	ctx := context.Background()
	cost := CostModel{}.Cost(100)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		a, err := s.Open(1<<20, 0)
		if err != nil {
			b.Error(err)
			return
		}
		defer a.Close()
		for pb.Next() {
			if err := a.Charge(ctx, cost); err != nil {
				b.Fatal(err)
			}
			a.Release(cost)
		}
	})
}

// BenchmarkChargeReleaseContended is one account per goroutine borrowing
// from a global budget that fits two of them at once, with four goroutines
// per CPU, so many charges wait in its queue and are woken by another
// goroutine's Release.
func BenchmarkChargeReleaseContended(b *testing.B) {
	const cost = 4 << 10
	g := NewBudget("global", 2*cost, nil)
	g.SetHeadroom(0)
	ctx := context.Background()
	var waits atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		a, err := g.Open(0, -1)
		if err != nil {
			b.Error(err)
			return
		}
		defer func() { waits.Add(a.Snapshot().Waits); a.Close() }()
		for pb.Next() {
			if err := a.Charge(ctx, cost); err != nil {
				b.Fatal(err)
			}
			a.Release(cost)
		}
	})
	b.ReportMetric(float64(waits.Load())/float64(b.N), "waits/op")
}
