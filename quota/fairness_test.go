package quota

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// flood charges 4 KiB at a time on a until stop is closed, never releasing;
// each attempt gives up after a millisecond, so it keeps knocking.
func flood(a *Account, stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		select {
		case <-stop:
			return
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		_ = a.Charge(ctx, 4<<10)
		cancel()
	}
}

func TestFairnessReserveUnderFlood(t *testing.T) {
	const n = 2000
	g := NewBudget("global", 1<<20, nil) // headroom: 128 KiB
	s := NewBudget("socket", 0, g)
	hog := mustOpen(t, s, 0, 0)   // no limit of its own
	quiet := mustOpen(t, s, 0, 0) // opened before the flood: holds 64 KiB
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go flood(hog, stop, &wg)
	go flood(hog, stop, &wg)
	defer wg.Wait()
	defer close(stop)
	waitUntil(t, "the flood borrows all it may", func() bool {
		return g.Used() > g.Limit()-g.Headroom()-4<<10
	})

	start := time.Now()
	for i := range n {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := quiet.Charge(ctx, 2<<10)
		cancel()
		if err != nil {
			t.Fatalf("quiet charge %d under flood: %v", i, err)
		}
		quiet.Release(2 << 10)
	}
	t.Logf("%d charges within the reserve under flood: %v", n, time.Since(start))
	if snap := quiet.Snapshot(); snap.Waits != 0 {
		t.Errorf("quiet account waited %d times", snap.Waits)
	}

	// Beyond its reserve the quiet account competes for what the flood
	// holds.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := quiet.Charge(ctx, 128<<10); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("borrowing charge under flood = %v, want a wait", err)
	}

	// New associations get their reserves from the headroom, which the flood
	// cannot take, and are served at once; once the headroom is all reserved,
	// the next one is refused.
	for i := range 2 {
		late, err := s.Open(0, 0)
		if err != nil {
			t.Fatalf("Open %d under flood: %v", i, err)
		}
		defer late.Close()
		for range 100 {
			if ok, err := late.TryCharge(4 << 10); !ok || err != nil {
				t.Fatalf("new account's charge within its reserve under flood: %v, %v", ok, err)
			}
			late.Release(4 << 10)
		}
	}
	if _, err := s.Open(0, 0); !errors.Is(err, ErrExhausted) {
		t.Errorf("Open with the headroom all reserved = %v, want ErrExhausted", err)
	}
	checkInvariants(t, g, []*Budget{g, s}, true)
}

func TestLargeWaiterNotStarvedBySmallOnes(t *testing.T) {
	g, s := levels(1000, 0)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	churn := func(a *Account) {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := a.Charge(context.Background(), 200); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(time.Millisecond)
			a.Release(200)
		}
	}
	for range 5 { // together they can fill the budget
		wg.Add(1)
		go churn(mustOpen(t, s, 0, -1))
	}
	waitUntil(t, "small charges fill the budget", func() bool { return g.Used() >= 800 })
	big := mustOpen(t, s, 0, -1)
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	var err error
	for i := 0; i < 20 && err == nil; i++ {
		if err = big.Charge(ctx, 600); err == nil {
			big.Release(600)
		}
	}
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("large charge among small ones: %v", err)
	}
	if big.Snapshot().Waits == 0 {
		t.Error("the large charges never competed")
	}
	checkInvariants(t, g, []*Budget{g, s}, true)
}

func TestFIFOAtSharedLevel(t *testing.T) {
	g, s := levels(1000, 0)
	holder := mustOpen(t, s, 0, -1)
	mustCharge(t, holder, 900)
	big := mustOpen(t, s, 0, -1)
	small := mustOpen(t, s, 0, -1)
	bigDone := goCharge(context.Background(), big, 500)
	waitBlocked(t, big, 1)
	smallDone := goCharge(context.Background(), small, 50) // would fit, but queues behind
	waitBlocked(t, small, 1)
	holder.Release(450) // 550 free: the big one first
	if err := result(t, bigDone); err != nil {
		t.Fatal(err)
	}
	if err := result(t, smallDone); err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, g, []*Budget{g, s}, true)
}

func TestFullLevelDoesNotBlockOthers(t *testing.T) {
	g := NewBudget("global", 1000, nil)
	full := NewBudget("full", 200, g)
	free := NewBudget("free", 0, g)
	g.SetHeadroom(0)
	full.SetHeadroom(0)

	stuck := mustOpen(t, full, 0, -1)
	mustCharge(t, stuck, 200)
	socketWaiter := goCharge(context.Background(), stuck, 50) // waits at its socket
	waitBlocked(t, stuck, 1)

	capped := mustOpen(t, free, 100, -1)
	mustCharge(t, capped, 100)
	accountWaiter := goCharge(context.Background(), capped, 50) // waits at its account
	waitBlocked(t, capped, 1)

	other := mustOpen(t, free, 0, -1)
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	for range 100 {
		if err := other.Charge(ctx, 300); err != nil {
			t.Fatal(err)
		}
		other.Release(300)
	}
	if other.Snapshot().Waits != 0 {
		t.Error("another socket's charges waited on a full socket or account")
	}
	assertPending(t, socketWaiter)
	assertPending(t, accountWaiter)
	stuck.Release(50)
	capped.Release(50)
	for _, done := range []<-chan error{socketWaiter, accountWaiter} {
		if err := result(t, done); err != nil {
			t.Error(err)
		}
	}
	checkInvariants(t, g, []*Budget{g, full, free}, true)
}
