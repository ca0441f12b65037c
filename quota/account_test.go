package quota

import (
	"context"
	"errors"
	"testing"
	"time"
)

// levels returns a global budget and a socket budget under it.
// levels is a global budget and a socket under it, without headroom: these
// tests check the mechanics at exact numbers; headroom_test.go covers it.
func levels(global, socket int64) (*Budget, *Budget) {
	g := NewBudget("global", global, nil)
	s := NewBudget("socket", socket, g)
	g.SetHeadroom(0)
	s.SetHeadroom(0)
	return g, s
}

func TestChargeWithinLimits(t *testing.T) {
	tests := []struct {
		name                  string
		global, socket, limit int64
		reserve               int64
		charges               []int64
		wantHeld, wantGlobal  int64
	}{
		{"within reserve", 1000, 0, 500, 200, []int64{50, 100}, 200, 200},
		{"borrows beyond reserve", 1000, 0, 500, 200, []int64{150, 100}, 250, 250},
		{"exactly the account limit", 1000, 600, 500, 100, []int64{250, 250}, 500, 500},
		{"no reserve borrows all", 1000, 0, 0, -1, []int64{10, 20}, 30, 30},
		{"unlimited levels", 0, 0, 0, 0, []int64{1 << 30}, 1 << 30, 1 << 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, s := levels(tt.global, tt.socket)
			a := mustOpen(t, s, tt.limit, tt.reserve)
			var sum int64
			for _, c := range tt.charges {
				mustCharge(t, a, c)
				sum += c
			}
			if a.Used() != sum || a.Held() != tt.wantHeld || g.Used() != tt.wantGlobal || s.Used() != tt.wantGlobal {
				t.Errorf("used %d held %d socket %d global %d; want %d %d %d %d",
					a.Used(), a.Held(), s.Used(), g.Used(), sum, tt.wantHeld, tt.wantGlobal, tt.wantGlobal)
			}
			if g.Charged() != sum {
				t.Errorf("global charged %d, want %d", g.Charged(), sum)
			}
			checkInvariants(t, g, []*Budget{g, s}, true)
			a.Release(sum)
			if a.Used() != 0 || g.Used() != a.Reserved() {
				t.Errorf("after release: used %d, global %d, want 0, %d", a.Used(), g.Used(), a.Reserved())
			}
		})
	}
}

func TestChargeBlocksUntilRelease(t *testing.T) {
	for _, level := range []string{"association", "socket", "global"} {
		t.Run(level, func(t *testing.T) {
			global, socket, limit := int64(1000), int64(1000), int64(1000)
			switch level {
			case "association":
				limit = 300
			case "socket":
				socket = 300
			case "global":
				global = 300
			}
			g, s := levels(global, socket)
			a := mustOpen(t, s, limit, 100)
			mustCharge(t, a, 250)
			done := goCharge(context.Background(), a, 100)
			waitBlocked(t, a, 1)
			assertPending(t, done)
			a.Release(49) // 201 + 100 > 300 still
			time.Sleep(10 * time.Millisecond)
			assertPending(t, done)
			a.Release(1)
			if err := result(t, done); err != nil {
				t.Fatal(err)
			}
			if a.Used() != 300 || g.Used() != 300 {
				t.Errorf("used %d, global %d; want 300, 300", a.Used(), g.Used())
			}
			if a.BlockedTime() <= 0 {
				t.Error("BlockedTime did not grow")
			}
			checkInvariants(t, g, []*Budget{g, s}, true)
		})
	}
}

func TestChargeContextDone(t *testing.T) {
	for _, level := range []string{"association", "global"} {
		t.Run(level, func(t *testing.T) {
			g, s := levels(1000, 0)
			limit := int64(0)
			if level == "association" {
				limit = 500
			}
			a := mustOpen(t, s, limit, 100)
			other := mustOpen(t, s, 0, 100)
			mustCharge(t, other, 700) // global: 100 + 700 of 1000 held
			mustCharge(t, a, 150)     // borrows 50: 850 held
			ctx, cancel := context.WithCancel(context.Background())
			done := goCharge(ctx, a, 400)
			waitBlocked(t, a, 1)
			cancel()
			err := result(t, done)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Charge = %v, want context.Canceled", err)
			}
			if a.Used() != 150 || a.Held() != 150 || g.Used() != 850 {
				t.Errorf("used %d held %d global %d; want 150 150 850", a.Used(), a.Held(), g.Used())
			}
			checkInvariants(t, g, []*Budget{g, s}, true)
			ctx, cancel = context.WithTimeout(context.Background(), 5*time.Millisecond)
			defer cancel()
			if err := a.Charge(ctx, 400); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Charge = %v, want context.DeadlineExceeded", err)
			}
		})
	}
}

func TestChargeTooLarge(t *testing.T) {
	tests := []struct {
		name                  string
		global, socket, limit int64
		reserve, cost         int64
		level                 string // "" = fits
		wantLimit             int64
	}{
		{"association", 0, 0, 100, 0, 101, LevelAssociation, 100},
		{"socket", 1000, 200, 500, 50, 201, "socket", 200},
		{"global", 150, 0, 500, 50, 151, "global", 150},
		{"exactly the limit fits", 1000, 0, 100, 0, 100, "", 0},
		{"within reserve above a shrunk level fits", 1000, 100, 0, 300, 250, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, s := levels(tt.global, tt.socket)
			if tt.socket == 100 { // shrink after the reserve was taken
				s.SetLimit(0)
			}
			a := mustOpen(t, s, tt.limit, tt.reserve)
			if tt.socket == 100 {
				s.SetLimit(100)
			}
			err := a.Charge(context.Background(), tt.cost)
			if tt.level == "" {
				if err != nil {
					t.Fatalf("Charge(%d) = %v", tt.cost, err)
				}
				return
			}
			var tl *TooLargeError
			if !errors.As(err, &tl) || !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Charge(%d) = %v, want *TooLargeError", tt.cost, err)
			}
			if *tl != (TooLargeError{tt.cost, tt.wantLimit, tt.level}) {
				t.Errorf("error = %+v", *tl)
			}
			if a.Used() != 0 || g.Used() != a.Reserved() {
				t.Errorf("refused charge changed usage: %d, %d", a.Used(), g.Used())
			}
		})
	}
}

func TestSetLimitGrowWakesWaiter(t *testing.T) {
	g, s := levels(1000, 400)
	a := mustOpen(t, s, 300, 100)
	mustCharge(t, a, 300)
	done := goCharge(context.Background(), a, 50)
	waitBlocked(t, a, 1)
	a.SetLimit(350) // now the socket is the limit: 300 + 50 <= 400
	if err := result(t, done); err != nil {
		t.Fatal(err)
	}

	done = goCharge(context.Background(), a, 100)
	waitBlocked(t, a, 1)
	a.SetLimit(500)
	time.Sleep(10 * time.Millisecond)
	assertPending(t, done) // the socket is full now
	s.SetLimit(450)
	if err := result(t, done); err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, g, []*Budget{g, s}, true)
}

func TestSetLimitShrink(t *testing.T) {
	g, s := levels(1000, 0)
	a := mustOpen(t, s, 500, 100)
	mustCharge(t, a, 400)
	a.SetLimit(300) // below usage: allowed
	if a.Used() != 400 || a.Limit() != 300 {
		t.Fatalf("used %d limit %d", a.Used(), a.Limit())
	}
	done := goCharge(context.Background(), a, 100)
	waitBlocked(t, a, 1)
	a.Release(200) // 200 + 100 <= 300
	if err := result(t, done); err != nil {
		t.Fatal(err)
	}
	if a.Used() != 300 {
		t.Errorf("used %d, want 300", a.Used())
	}
	checkInvariants(t, g, []*Budget{g, s}, true)
}

// TestSetLimitShrinkKeepsAdmittedCharges: a limit lowered below a waiting
// charge (a reload lowering quota.association under a message already read)
// does not fail it: it waits until it is alone and goes beyond the new limit
// by less than itself; charges made after it obey the new limit, and one that
// the old limit admitted but the new one cannot still goes alone.
func TestSetLimitShrinkKeepsAdmittedCharges(t *testing.T) {
	g, s := levels(1000, 0)
	a := mustOpen(t, s, 500, 100)
	mustCharge(t, a, 400)
	big := goCharge(context.Background(), a, 200) // waits at the account
	waitBlocked(t, a, 1)
	a.SetLimit(150)
	assertPending(t, big)
	a.Release(300)
	assertPending(t, big) // 100 still charged: not alone yet
	a.Release(100)
	if err := result(t, big); err != nil {
		t.Fatalf("charge waiting when the limit shrank: %v, want it granted alone", err)
	}
	if a.Used() != 200 {
		t.Fatalf("used %d, want the lone charge's 200", a.Used())
	}
	checkInvariants(t, g, []*Budget{g, s}, false)

	small := goCharge(context.Background(), a, 10) // a new charge obeys the new limit
	waitBlocked(t, a, 1)
	a.Release(150) // 50 + 10 <= 150
	if err := result(t, small); err != nil {
		t.Fatal(err)
	}
	again := goCharge(context.Background(), a, 300) // admitted by the old limit: alone
	waitBlocked(t, a, 1)
	a.Release(60)
	if err := result(t, again); err != nil {
		t.Fatalf("charge within the old limit: %v, want it granted alone", err)
	}
	a.Release(300)
	if _, err := a.TryCharge(501); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("TryCharge above every limit the account had = %v, want ErrTooLarge", err)
	}
	checkInvariants(t, g, []*Budget{g, s}, true)
}

// TestBudgetShrinkKeepsBorrowingCharge: the same at a shared level: a charge
// borrowing when the global limit drops below what it needs beside the
// reserves waits until nothing else borrows, then borrows alone; the charge
// behind it waits for it.
func TestBudgetShrinkKeepsBorrowingCharge(t *testing.T) {
	g, s := levels(1000, 0)
	a := mustOpen(t, s, 0, 100)
	hog := mustOpen(t, s, 0, -1)
	mustCharge(t, hog, 800)
	big := goCharge(context.Background(), a, 400) // borrows 300: waits at global
	waitBlocked(t, a, 1)
	small := goCharge(context.Background(), a, 10) // waits behind it
	waitBlocked(t, a, 2)
	g.SetLimit(350) // lends 307 at most, beside a reserve of 100
	assertPending(t, big)
	hog.Release(800)
	if err := result(t, big); err != nil {
		t.Fatalf("charge borrowing when the limit shrank: %v, want it granted alone", err)
	}
	checkInvariants(t, g, []*Budget{g, s}, false)
	assertPending(t, small)
	a.Release(400)
	if err := result(t, small); err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, g, []*Budget{g, s}, true)
}

func TestOwnReleaseCompletesBorrowingCharge(t *testing.T) {
	// The account's reserve must serve it even while the global level is
	// full and others wait there first.
	g, s := levels(1000, 0)
	a := mustOpen(t, s, 0, 200)
	hog := mustOpen(t, s, 0, -1)
	mustCharge(t, a, 200)
	mustCharge(t, hog, 800)
	queued := goCharge(context.Background(), hog, 100)
	waitBlocked(t, hog, 1)
	done := goCharge(context.Background(), a, 150)
	waitBlocked(t, a, 1)
	a.Release(150) // 50 + 150 fits in the reserve
	if err := result(t, done); err != nil {
		t.Fatal(err)
	}
	assertPending(t, queued)
	if a.Held() != 200 || g.Used() != 1000 {
		t.Errorf("held %d global %d", a.Held(), g.Used())
	}
	checkInvariants(t, g, []*Budget{g, s}, true)
}

func TestOpenExhausted(t *testing.T) {
	g, s := levels(1000, 500)
	mustOpen(t, s, 0, 400)
	if _, err := s.Open(0, 200); !errors.Is(err, ErrExhausted) {
		t.Errorf("Open beyond the socket = %v, want ErrExhausted", err)
	}
	other := NewBudget("other", 0, g)
	mustOpen(t, other, 0, 500)
	_, err := other.Open(0, 200)
	if !errors.Is(err, ErrExhausted) {
		t.Errorf("Open beyond global = %v, want ErrExhausted", err)
	}
	t.Log(err)
	mustOpen(t, other, 0, 100)
	if g.Used() != 1000 || g.Reserved() != 1000 {
		t.Errorf("global used %d reserved %d", g.Used(), g.Reserved())
	}
}

func TestCloseReleasesEverything(t *testing.T) {
	g, s := levels(1000, 0)
	a := mustOpen(t, s, 600, 100)
	b := mustOpen(t, s, 0, 100)
	mustCharge(t, b, 700)
	mustCharge(t, a, 300)                               // global full
	borrowing := goCharge(context.Background(), a, 200) // waits at global
	waitBlocked(t, a, 1)
	admitted := goCharge(context.Background(), a, 200) // waits at the account
	waitBlocked(t, a, 2)
	other := goCharge(context.Background(), b, 100) // waits at global
	waitBlocked(t, b, 1)

	a.Close()
	for _, done := range []<-chan error{borrowing, admitted} {
		if err := result(t, done); !errors.Is(err, ErrClosed) {
			t.Errorf("waiting Charge = %v, want ErrClosed", err)
		}
	}
	if err := result(t, other); err != nil {
		t.Errorf("other account's Charge = %v", err)
	}
	if err := a.Charge(context.Background(), 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Charge after Close = %v", err)
	}
	a.Release(300) // no-op
	a.Close()
	b.Close()
	for _, l := range []*Budget{g, s} {
		if snap := l.Snapshot(); snap != (BudgetSnapshot{Name: l.name, Limit: l.limit}) {
			t.Errorf("after Close: %+v", snap)
		}
	}
}

func TestReleaseMisuse(t *testing.T) {
	g, _ := levels(0, 0)
	a := mustOpen(t, g, 0, 0)
	mustCharge(t, a, 10)
	for _, cost := range []int64{11, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Release(%d) did not panic", cost)
				}
			}()
			a.Release(cost)
		}()
	}
	if a.Used() != 10 {
		t.Errorf("used %d", a.Used())
	}
}

func TestSnapshot(t *testing.T) {
	g, s := levels(1000, 0)
	a := mustOpen(t, s, 500, 100)
	mustCharge(t, a, 150)
	got := a.Snapshot()
	want := AccountSnapshot{Limit: 500, Reserved: 100, Used: 150, Held: 150}
	if got != want {
		t.Errorf("account %+v, want %+v", got, want)
	}
	gs := g.Snapshot()
	wantG := BudgetSnapshot{Name: "global", Limit: 1000, Used: 150, Reserved: 100, Charged: 150, Accounts: 1}
	if gs != wantG {
		t.Errorf("global %+v, want %+v", gs, wantG)
	}
}

func TestUncontendedChargeReleaseDoesNotAllocate(t *testing.T) {
	g, s := levels(1<<30, 0)
	a := mustOpen(t, s, 1<<20, 0)
	ctx := context.Background()
	for _, cost := range []int64{100, 200 << 10} { // within the reserve, borrowing
		allocs := testing.AllocsPerRun(1000, func() {
			if err := a.Charge(ctx, cost); err != nil {
				t.Fatal(err)
			}
			a.Release(cost)
		})
		if allocs != 0 {
			t.Errorf("cost %d: %v allocations per Charge+Release", cost, allocs)
		}
	}
	checkInvariants(t, g, []*Budget{g, s}, true)
}

func TestTryCharge(t *testing.T) {
	_, socket := levels(0, 0)
	a, err := socket.Open(100, -1)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := a.TryCharge(60); !ok || err != nil {
		t.Fatalf("TryCharge(60) = %v, %v; want true, nil", ok, err)
	}
	if ok, err := a.TryCharge(60); ok || err != nil {
		t.Fatalf("TryCharge(60) over the limit = %v, %v; want false, nil", ok, err)
	}
	if _, err := a.TryCharge(101); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("TryCharge(101) = %v; want ErrTooLarge", err)
	}
	a.Release(60)
	if ok, _ := a.TryCharge(100); !ok {
		t.Fatal("TryCharge(100) after release failed")
	}
	a.Close()
	if _, err := a.TryCharge(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("TryCharge after Close = %v; want ErrClosed", err)
	}
}

// An overdraft is charged at every level beyond the limits, blocks ordinary
// charges until it is released, and is released like any charge.
func TestOverdraw(t *testing.T) {
	global := NewBudget("global", 1000, nil)
	acct, err := global.Open(500, -1)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := acct.TryCharge(400); !ok {
		t.Fatal("400 of 500 refused")
	}
	if err := acct.Overdraw(300); err != nil {
		t.Fatal(err)
	}
	if got := acct.Used(); got != 700 {
		t.Errorf("used = %d, want 700", got)
	}
	if got := global.Used(); got != 700 {
		t.Errorf("global used = %d, want 700", got)
	}
	if ok, _ := acct.TryCharge(1); ok {
		t.Error("a charge fit an overdrawn account")
	}
	acct.Release(700)
	if got := global.Used(); got != 0 {
		t.Errorf("global used after release = %d, want 0", got)
	}
	acct.Close()
	if err := acct.Overdraw(1); !errors.Is(err, ErrClosed) {
		t.Errorf("Overdraw after Close = %v, want ErrClosed", err)
	}
}

// What accounts overdraw is counted at every level: OverdraftFits holds it
// within a share of the account's limit and of each shared level's, however
// many accounts overdraw; a release or a close gives the room back.
func TestOverdraftFits(t *testing.T) {
	global := NewBudget("global", 8000, nil)
	a, err := global.Open(80_000, -1) // its own limit is no bound here
	if err != nil {
		t.Fatal(err)
	}
	b, err := global.Open(80_000, -1)
	if err != nil {
		t.Fatal(err)
	}
	if !a.OverdraftFits(1000, 8) {
		t.Fatal("1000 B does not fit an eighth of 8000 B with nothing overdrawn")
	}
	if err := a.Overdraw(600); err != nil {
		t.Fatal(err)
	}
	if b.OverdraftFits(500, 8) {
		t.Error("b may overdraw 500 B while a holds 600 B of the global 1000 B share")
	}
	if !b.OverdraftFits(400, 8) {
		t.Error("b may not overdraw 400 B beside a's 600 B of the global 1000 B share")
	}
	a.Release(200)
	if got := a.Overdrawn(); got != 400 {
		t.Errorf("a overdrawn after releasing 200 = %d, want 400 (the overdraft goes first)", got)
	}
	a.Close()
	if !b.OverdraftFits(1000, 8) {
		t.Error("a's overdraft still counted after a closed")
	}
	small, err := global.Open(800, -1)
	if err != nil {
		t.Fatal(err)
	}
	if small.OverdraftFits(101, 8) {
		t.Error("101 B fits an eighth of an 800 B account's limit")
	}
}

// TestBudgetBlockedTimeSumsAccounts: a level's blocked time is the sum of its
// accounts' (the relay's sctpguard_writer_blocked_seconds_total, kept without
// visiting every association), and stays when they close.
func TestBudgetBlockedTimeSumsAccounts(t *testing.T) {
	g, s := levels(0, 0)
	a := mustOpen(t, s, 100, -1)
	b := mustOpen(t, s, 100, -1)
	mustCharge(t, a, 100)
	mustCharge(t, b, 100)
	wa := goCharge(context.Background(), a, 50)
	waitBlocked(t, a, 1)
	wb := goCharge(context.Background(), b, 50)
	waitBlocked(t, b, 1)
	time.Sleep(5 * time.Millisecond)
	if got := s.BlockedTime(); got <= 0 {
		t.Fatalf("blocked time %v while two charges wait, want > 0", got)
	}
	a.Release(50)
	if err := result(t, wa); err != nil {
		t.Fatal(err)
	}
	b.Release(50)
	if err := result(t, wb); err != nil {
		t.Fatal(err)
	}
	sum := a.BlockedTime() + b.BlockedTime()
	if sum <= 0 || s.BlockedTime() != sum || g.BlockedTime() != sum {
		t.Fatalf("blocked: socket %v, global %v; accounts sum to %v", s.BlockedTime(), g.BlockedTime(), sum)
	}
	a.Close()
	b.Close()
	if s.BlockedTime() != sum {
		t.Errorf("blocked after the accounts closed %v, want %v kept", s.BlockedTime(), sum)
	}
}
