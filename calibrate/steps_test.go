package calibrate

import (
	"context"
	"strings"
	"testing"

	"github.com/sctpguard/sctpguard/quota"
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

// modelKernel is a fake kernel that holds what quota's cost model says, for
// a true header and overhead.
type modelKernel struct {
	truth quota.CostModel
	frag  int
	calls []int // payloads measured
}

func (k *modelKernel) measure(_ context.Context, payload int) (Round, error) {
	k.calls = append(k.calls, payload)
	cost := k.truth.Chunked(payload, k.frag)
	n := int64(max(200, min(20000, (64<<20)/cost))) // what a 64 MiB budget admits
	return Round{Messages: n, HostUsed: cost * n, Overhead: float64(cost - int64(payload)), Fragment: k.frag, Settled: true, Stop: "cap"}, nil
}

// calibrateFake runs a calibration of sizes, one round each, against a
// fake kernel.
func calibrateFake(t *testing.T, measure func(context.Context, int) (Round, error), sizes []int) *Report {
	t.Helper()
	o := Options{Sizes: sizes, Rounds: 1}
	o.applyDefaults()
	c := &calibration{o: o, rep: &Report{Kernel: "fake"}, measure: measure}
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

func linux61Kernel() *modelKernel {
	return &modelKernel{truth: quota.CostModel{Header: 542, Overhead: 767}, frag: LoopbackFragment}
}

func TestLocateStepBetweenSizes(t *testing.T) {
	k := linux61Kernel()
	rep := calibrateFake(t, k.measure, []int{1, 100, 1024})
	if len(rep.Steps) != 1 {
		t.Fatalf("steps %+v, want one", rep.Steps)
	}
	st := rep.Steps[0]
	if st.Below > 482 || st.Above <= 482 || st.Above-st.Below > DefaultResolution || !st.Located {
		t.Fatalf("step %+v does not bracket 482 within %d B", st, DefaultResolution)
	}
	if probes := len(k.calls) - 3; probes > 7 {
		t.Errorf("%d probes to locate one step in 924 B to 16 B; bisection needs 6", probes)
	}
	if rep.Header < 542 || rep.Header > 542+DefaultResolution || rep.Overhead != 768 {
		t.Errorf("header %d, overhead %d; want 542..%d and 768", rep.Header, rep.Overhead, 542+DefaultResolution)
	}
}

// TestLocateStepsAboveSmallSizes checks that the steps between larger sizes
// are bisected too, lowest first, within maxProbes.
func TestLocateStepsAboveSmallSizes(t *testing.T) {
	k := linux61Kernel()
	rep := calibrateFake(t, k.measure, DefaultSizes)
	located := 0
	for _, st := range rep.Steps {
		if st.Located {
			located++
		}
	}
	if located < 2 || !rep.Steps[0].Located || rep.Steps[0].Below > 482 {
		t.Errorf("steps %+v: want the lowest two located", rep.Steps)
	}
	if probes := len(k.calls) - len(DefaultSizes); probes > maxProbes {
		t.Errorf("%d probes, want at most %d", probes, maxProbes)
	}
	if rep.Header < 542 || rep.Header > 542+DefaultResolution || rep.Overhead != 768 {
		t.Errorf("header %d, overhead %d; want 542..%d and 768", rep.Header, rep.Overhead, 542+DefaultResolution)
	}
}

func TestNoStepNoProbe(t *testing.T) {
	k := linux61Kernel()
	rep := calibrateFake(t, k.measure, []int{1, 100, 400})
	if len(rep.Steps) != 0 || len(k.calls) != 3 {
		t.Fatalf("steps %+v after %d rounds; want none after 3", rep.Steps, len(k.calls))
	}
	if rep.Overhead != 768 {
		t.Errorf("overhead %d, want 768", rep.Overhead)
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
	calibrateFake(t, k.measure, []int{1, 1024})
	if probes := len(k.calls) - 2; probes > maxProbes {
		t.Fatalf("%d probes, want at most %d", probes, maxProbes)
	}
}

func TestTooFewMessagesBoundsTheStepWithoutBisecting(t *testing.T) {
	k := linux61Kernel()
	measure := func(ctx context.Context, payload int) (Round, error) {
		r, err := k.measure(ctx, payload)
		r.HostUsed, r.Messages, r.Stop = r.HostUsed*300/r.Messages, 300, "blocked"
		return r, err
	}
	rep := calibrateFake(t, measure, []int{1, 1024})
	if len(k.calls) != 2 || len(rep.Steps) != 1 || rep.Steps[0].Below != 1 || rep.Steps[0].Above != 1024 || rep.Steps[0].Located {
		t.Fatalf("%d rounds, steps %+v; want no probe and the step bounded by 1 B and 1 KiB", len(k.calls), rep.Steps)
	}
	if !strings.Contains(strings.Join(rep.Notes, "\n"), "too few to tell a step from noise") {
		t.Errorf("no note says why: %q", rep.Notes)
	}
	// 1 B and 1 KiB alone: the doubling goes as early as they allow.
	if rep.Overhead != 768 || rep.Header < 1016 {
		t.Errorf("header %d, overhead %d; want at least 1016 and 768", rep.Header, rep.Overhead)
	}
}
