package quota

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stressTree is a global budget with a capped and an uncapped socket.
type stressTree struct {
	g, capped, open *Budget
	all             []*Budget
}

func newStressTree() *stressTree {
	g := NewBudget("global", 64<<10, nil)
	s := &stressTree{g: g, capped: NewBudget("capped", 40<<10, g), open: NewBudget("open", 0, g)}
	s.all = []*Budget{g, s.capped, s.open}
	return s
}

// worker charges and releases at random on an account it reopens now and
// then, until stop; it gives everything back before it returns.
type worker struct {
	t      *testing.T
	rng    *rand.Rand
	b      *Budget
	acct   atomic.Pointer[Account] // read by the resizer
	held   []int64
	grants atomic.Int64
}

func (w *worker) run(stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	defer w.close()
	for {
		select {
		case <-stop:
			return
		default:
		}
		switch n := w.rng.IntN(100); {
		case n < 2:
			w.close()
		case w.acct.Load() == nil:
			w.open()
		case n < 55:
			w.charge()
		default:
			w.release()
		}
	}
}

func (w *worker) open() {
	limits := []int64{0, 8 << 10, 16 << 10, 32 << 10}
	reserves := []int64{-1, 1 << 10, 4 << 10, 0}
	a, err := w.b.Open(limits[w.rng.IntN(len(limits))], reserves[w.rng.IntN(len(reserves))])
	if err != nil && !errors.Is(err, ErrExhausted) {
		w.t.Errorf("Open: %v", err)
	}
	if a != nil {
		w.acct.Store(a)
	}
}

func (w *worker) charge() {
	cost := 1 + w.rng.Int64N(6<<10)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(w.rng.IntN(2000))*time.Microsecond)
	defer cancel()
	err := w.acct.Load().Charge(ctx, cost)
	switch {
	case err == nil:
		w.held = append(w.held, cost)
		w.grants.Add(1)
	case !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrTooLarge):
		w.t.Errorf("Charge(%d): %v", cost, err)
	}
}

func (w *worker) release() {
	if len(w.held) == 0 {
		return
	}
	i := w.rng.IntN(len(w.held))
	w.acct.Load().Release(w.held[i])
	w.held = append(w.held[:i], w.held[i+1:]...)
}

func (w *worker) close() {
	a := w.acct.Load()
	if a == nil {
		return
	}
	if w.rng.IntN(2) == 0 { // give back one by one, or all at once
		for _, c := range w.held {
			a.Release(c)
		}
	}
	a.Close()
	w.held = w.held[:0]
	w.acct.Store(nil)
}

func stress(t *testing.T, resize bool) {
	tree := newStressTree()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	workers := make([]*worker, 16)
	for i := range workers {
		w := &worker{t: t, rng: rand.New(rand.NewPCG(uint64(i), 1)), b: tree.capped}
		if i%2 == 1 {
			w.b = tree.open
		}
		workers[i] = w
		wg.Add(1)
		go w.run(stop, &wg)
	}
	var checks sync.WaitGroup
	checks.Add(1)
	go func() {
		defer checks.Done()
		rng := rand.New(rand.NewPCG(99, 1))
		for {
			select {
			case <-stop:
				return
			default:
			}
			checkInvariants(t, tree.g, tree.all, !resize)
			if resize {
				resizeOne(rng, tree, workers)
			}
			time.Sleep(50 * time.Microsecond)
		}
	}()
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	checks.Wait()
	var grants int64
	for _, w := range workers {
		grants += w.grants.Load()
	}
	t.Logf("%d charges granted", grants)
	checkInvariants(t, tree.g, tree.all, false)
	for _, b := range tree.all {
		if s := b.Snapshot(); s.Used != 0 || s.Reserved != 0 || s.Charged != 0 || s.Accounts != 0 || s.Waiting != 0 {
			t.Errorf("after every account closed: %+v", s)
		}
	}
}

func resizeOne(rng *rand.Rand, tree *stressTree, workers []*worker) {
	limits := []int64{0, 4 << 10, 16 << 10, 48 << 10, 64 << 10}
	n := limits[rng.IntN(len(limits))]
	switch i := rng.IntN(len(workers) + 3); {
	case i < len(tree.all):
		tree.all[i].SetLimit(n)
	default:
		if a := workers[i-len(tree.all)].acct.Load(); a != nil {
			a.SetLimit(n)
		}
	}
}

func TestStressInvariants(t *testing.T) { stress(t, false) }

func TestStressResize(t *testing.T) { stress(t, true) }
