package calibrate

import (
	"context"
	"testing"
)

// stepKernel is a fake kernel whose cost per message steps up at the given
// payloads, like Linux 6.1's loopback (~1.8 KB, then ~2.8 KB above 475 B).
type stepKernel struct {
	edges []int     // a payload above edges[i] costs costs[i+1]
	costs []float64 // per message, payload included
	calls []int     // payloads measured
}

func (k *stepKernel) measure(_ context.Context, payload int) (Round, error) {
	k.calls = append(k.calls, payload)
	cost := k.costs[0]
	for i, e := range k.edges {
		if payload > e {
			cost = k.costs[i+1]
		}
	}
	const n = 20000
	return Round{Messages: n, HostUsed: int64(cost * n), Overhead: cost - float64(payload), Settled: true}, nil
}

func calibrateFake(t *testing.T, k *stepKernel, sizes []int) *Report {
	t.Helper()
	o := Options{Sizes: sizes, Rounds: 1}
	o.applyDefaults()
	c := &calibration{o: o, rep: &Report{Kernel: "fake"}, measure: k.measure}
	for _, s := range sizes {
		if err := c.measureSize(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.locateSteps(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.recommend(); err != nil {
		t.Fatal(err)
	}
	return c.rep
}

func TestLocateStepBetweenSizes(t *testing.T) {
	k := &stepKernel{edges: []int{475}, costs: []float64{1800, 2800}}
	rep := calibrateFake(t, k, []int{1, 100, 1024, 16384})
	if len(rep.Steps) != 1 {
		t.Fatalf("steps %+v, want one", rep.Steps)
	}
	st := rep.Steps[0]
	if st.Below > 475 || st.Above <= 475 || st.Above-st.Below > DefaultResolution {
		t.Fatalf("step %+v does not bracket 475 within %d B", st, DefaultResolution)
	}
	// The worst payload is 476 B: 2800-476 = 2324 B. The bound may be up to
	// the resolution larger, never smaller.
	if st.Overhead < 2324 || st.Overhead > 2324+DefaultResolution {
		t.Errorf("step overhead %.0f, want 2324..%d", st.Overhead, 2324+DefaultResolution)
	}
	if rep.Overhead != RoundUp(st.Overhead, Granularity) || !rep.Worst.Step {
		t.Errorf("recommended %d from %+v, want the step's %.0f rounded up", rep.Overhead, rep.Worst, st.Overhead)
	}
	if probes := len(k.calls) - 4; probes > 7 {
		t.Errorf("%d probes to locate one step in 924 B to 16 B; bisection needs 6", probes)
	}
}

func TestLocateStepsFindsEvery(t *testing.T) {
	k := &stepKernel{edges: []int{200, 600}, costs: []float64{1000, 2000, 3000}}
	rep := calibrateFake(t, k, []int{1, 1024})
	if len(rep.Steps) != 2 {
		t.Fatalf("steps %+v, want two", rep.Steps)
	}
	// The worst overhead is just above 600: 3000-601 (just above 200 it is
	// 2000-201).
	if rep.Worst.Overhead < 2399 || rep.Worst.Payload > 601 || rep.Worst.Payload < 601-DefaultResolution {
		t.Errorf("worst %+v, want 2399 B just above 600 B", rep.Worst)
	}
}

func TestNoStepNoProbe(t *testing.T) {
	k := &stepKernel{costs: []float64{1800}}
	rep := calibrateFake(t, k, []int{1, 100, 1024})
	if len(rep.Steps) != 0 || len(k.calls) != 3 {
		t.Fatalf("steps %+v after %d rounds; want none after 3", rep.Steps, len(k.calls))
	}
	if rep.Overhead != 1856 { // 1800-1 rounded up
		t.Errorf("overhead %d, want 1856", rep.Overhead)
	}
}

func TestProbesAreBounded(t *testing.T) {
	// A step at every 8 bytes (pure noise, say) must not bisect forever.
	k := &stepKernel{}
	k.costs = []float64{1000}
	for p := 8; p < 1024; p += 8 {
		k.edges = append(k.edges, p)
		k.costs = append(k.costs, k.costs[len(k.costs)-1]+300)
	}
	calibrateFake(t, k, []int{1, 1024})
	if probes := len(k.calls) - 2; probes > maxProbes {
		t.Fatalf("%d probes, want at most %d", probes, maxProbes)
	}
}

func TestTooFewMessagesBoundsTheStepWithoutBisecting(t *testing.T) {
	k := &stepKernel{edges: []int{475}, costs: []float64{1800, 2800}}
	o := Options{Sizes: []int{1, 1024}, Rounds: 1}
	o.applyDefaults()
	c := &calibration{o: o, rep: &Report{Kernel: "fake"}}
	c.measure = func(ctx context.Context, payload int) (Round, error) {
		r, err := k.measure(ctx, payload)
		r.Messages, r.HostUsed, r.Stop = 300, r.HostUsed*300/r.Messages, "blocked"
		return r, err
	}
	for _, s := range o.Sizes {
		if err := c.measureSize(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.locateSteps(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.recommend(); err != nil {
		t.Fatal(err)
	}
	if len(k.calls) != 2 || len(c.rep.Steps) != 1 || c.rep.Steps[0].Below != 1 || c.rep.Steps[0].Above != 1024 {
		t.Fatalf("%d rounds, steps %+v; want no probe and the step bounded by 1 B and 1 KiB", len(k.calls), c.rep.Steps)
	}
	if c.rep.Overhead != RoundUp(2800-2, Granularity) {
		t.Errorf("overhead %d, want the bound 2798 rounded up", c.rep.Overhead)
	}
}
