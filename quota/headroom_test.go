package quota

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestHeadroomDefault(t *testing.T) {
	g := NewBudget("global", 8000, nil)
	if h := g.Headroom(); h != 1000 {
		t.Errorf("default headroom of 8000 = %d, want 1000", h)
	}
	g.SetLimit(16000)
	if h := g.Headroom(); h != 2000 {
		t.Errorf("default headroom follows the limit: %d, want 2000", h)
	}
	g.SetHeadroom(500)
	g.SetLimit(8000)
	if h := g.Headroom(); h != 500 {
		t.Errorf("headroom set stays: %d, want 500", h)
	}
	g.SetHeadroom(-1)
	if h := g.Headroom(); h != 1000 {
		t.Errorf("headroom back to default: %d, want 1000", h)
	}
	if h := NewBudget("none", 0, nil).Headroom(); h != 0 {
		t.Errorf("headroom without a limit = %d, want 0", h)
	}
	if snap := g.Snapshot(); snap.Headroom != 1000 {
		t.Errorf("snapshot headroom = %d, want 1000", snap.Headroom)
	}
}

// Borrowing stops at the limit less the headroom; reserves may use all of it.
func TestHeadroomKeptForReserves(t *testing.T) {
	g := NewBudget("global", 1000, nil)
	g.SetHeadroom(300)
	s := NewBudget("socket", 0, g)
	hog := mustOpen(t, s, 0, 100)
	mustCharge(t, hog, 700) // reserve 100 + 600 borrowed: up to 700 used
	if ok, err := hog.TryCharge(1); ok || err != nil {
		t.Fatalf("borrowing into the headroom: %v, %v", ok, err)
	}
	waiter := goCharge(context.Background(), hog, 50)
	waitBlocked(t, hog, 1)

	a := mustOpen(t, s, 0, 200) // from the headroom
	mustCharge(t, a, 200)       // within its reserve: no wait
	b := mustOpen(t, s, 0, 100) // the rest of it
	if _, err := s.Open(0, 1); !errors.Is(err, ErrExhausted) {
		t.Errorf("Open beyond the limit = %v, want ErrExhausted", err)
	}
	if g.Used() != 1000 {
		t.Errorf("global used %d, want 1000", g.Used())
	}
	assertPending(t, waiter)

	// Released bytes return below the line before anyone borrows again.
	b.Close()
	a.Close()
	assertPending(t, waiter) // 700 used, still at the line
	hog.Release(100)
	if err := result(t, waiter); err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, g, []*Budget{g, s}, true)
}

func TestSetHeadroomWakesAndKeeps(t *testing.T) {
	g := NewBudget("global", 1000, nil)
	g.SetHeadroom(0)
	a := mustOpen(t, g, 0, -1)
	mustCharge(t, a, 900)
	g.SetHeadroom(200) // 900 used, the line at 800: new borrowing waits
	small := goCharge(context.Background(), a, 50)
	waitBlocked(t, a, 1)
	other := mustOpen(t, g, 0, -1)
	huge := goCharge(context.Background(), other, 700)
	waitBlocked(t, other, 1)

	g.SetHeadroom(600) // the line at 400: 700 fits only alone
	assertPending(t, small)
	a.Release(850) // 50 used: below the line
	if err := result(t, small); err != nil {
		t.Fatal(err)
	}
	assertPending(t, huge) // 100 borrowed: not alone
	a.Release(100)
	if err := result(t, huge); err != nil {
		t.Errorf("charge the level lent to before the headroom grew = %v, want it granted alone", err)
	}
	checkInvariants(t, g, []*Budget{g}, true)
}

func TestChargeTooLargeForHeadroom(t *testing.T) {
	g := NewBudget("global", 1000, nil) // lends up to 875
	a := mustOpen(t, g, 0, 100)
	err := a.Charge(context.Background(), 900)
	var tl *TooLargeError
	if !errors.As(err, &tl) || *tl != (TooLargeError{Cost: 900, Limit: 875, Level: "global"}) {
		t.Fatalf("Charge(900) = %v, want *TooLargeError{900 875 global}", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := a.Charge(ctx, 875); err != nil {
		t.Errorf("Charge(875) = %v", err)
	}
	checkInvariants(t, g, []*Budget{g}, true)
}
