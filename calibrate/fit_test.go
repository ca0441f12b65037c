package calibrate

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sctpguard/sctpguard/quota"
)

// linux61Sizes are what Linux 6.1 held per message over loopback: ~1,790 B
// up to ~480 B of payload, ~2.8 KB from 1 KiB to 1.5 KB, ~4.8 KB for 2 KiB,
// ~33.5 KB for 16 KiB (a header of ~542 B and an overhead of ~767 B).
func linux61Sizes() []SizeResult {
	return []SizeResult{
		sizeResult(1, 1790), sizeResult(100, 1790), sizeResult(1024, 2815),
		sizeResult(1500, 2815), sizeResult(2048, 4863), sizeResult(16384, 33535),
	}
}

// linux61Steps are the steps bisection locates there to 8 bytes.
func linux61Steps() []Step {
	return []Step{
		{Below: 480, Above: 488, CostBelow: 1790, CostAbove: 2815, Located: true},
		{Below: 1504, Above: 1512, CostBelow: 2815, CostAbove: 4863, Located: true},
	}
}

// checkCovers fails t if the fitted model charges any point less than it
// held.
func checkCovers(t *testing.T, f Fitted, sizes []SizeResult, steps []Step, frag int) {
	t.Helper()
	for _, p := range samples(sizes, steps, frag) {
		if got := f.Model().Chunked(p.payload, frag); float64(got) < p.cost {
			t.Errorf("header %d, overhead %d: %d B charged %d B, less than the %.0f B measured", f.Header, f.Overhead, p.payload, got, p.cost)
		}
	}
}

func TestFitLinux61(t *testing.T) {
	sizes, steps := linux61Sizes(), linux61Steps()
	f, err := Fit(sizes, steps, LoopbackFragment)
	if err != nil {
		t.Fatal(err)
	}
	if f.Header != 544 || f.Overhead != 768 {
		t.Errorf("header %d, overhead %d; want 544 and 768", f.Header, f.Overhead)
	}
	checkCovers(t, f, sizes, steps, LoopbackFragment)
}

func TestFitWithNoise(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		sizes, steps := linux61Sizes(), linux61Steps()
		// MemAvailable's drift spread over the messages: tens of bytes.
		for i := range sizes {
			sizes[i].PerMessage += rng.Float64()*100 - 50
		}
		for i := range steps {
			steps[i].CostBelow += rng.Float64()*100 - 50
			steps[i].CostAbove += rng.Float64()*100 - 50
		}
		f, err := Fit(sizes, steps, LoopbackFragment)
		if err != nil {
			t.Fatal(err)
		}
		if f.Header < 536 || f.Header > 552 || f.Overhead < 768 || f.Overhead > 832 {
			t.Errorf("header %d, overhead %d; want 536..552 and 768..832", f.Header, f.Overhead)
		}
		checkCovers(t, f, sizes, steps, LoopbackFragment)
	}
}

// TestFitCoarseSizes fits without steps: the model must still charge every
// size at least what it held, and with nothing to pin the doubling it puts
// it as early as the sizes allow.
func TestFitCoarseSizes(t *testing.T) {
	truth := quota.CostModel{Header: 542, Overhead: 767}
	var sizes []SizeResult
	for _, p := range []int{1, 100, 1024, 16384, 65536} {
		sizes = append(sizes, sizeResult(p, float64(truth.Chunked(p, LoopbackFragment))))
	}
	f, err := Fit(sizes, nil, LoopbackFragment)
	if err != nil {
		t.Fatal(err)
	}
	checkCovers(t, f, sizes, nil, LoopbackFragment)
	if f.Overhead != 768 || f.Header < 542 {
		t.Errorf("header %d, overhead %d; want at least 542 and 768", f.Header, f.Overhead)
	}
}

// TestFitLeavesSplitMessagesOut checks that a 64 KiB message, split in
// two at the fragmentation point and holding twice its chunks (as on Linux
// 6.1), does not move the fit, and is covered by the model's reassembly
// buffer without an undercharge note.
func TestFitLeavesSplitMessagesOut(t *testing.T) {
	rep := &Report{Kernel: "fake", Fragment: LoopbackFragment,
		Sizes: append(linux61Sizes(), sizeResult(65536, 264528)), Steps: linux61Steps()}
	o := Options{}
	o.applyDefaults()
	if err := (&calibration{o: o, rep: rep}).recommend(); err != nil {
		t.Fatal(err)
	}
	if rep.Header != 544 || rep.Overhead != 768 {
		t.Errorf("header %d, overhead %d; want 544 and 768", rep.Header, rep.Overhead)
	}
	if got, want := rep.Sizes[len(rep.Sizes)-1].Charged, int64(2*131072+1024+2*768); got != want {
		t.Errorf("64KiB charged %d, want %d: two chunks and the reassembly buffer", got, want)
	}
	if notes := strings.Join(rep.Notes, "\n"); strings.Contains(notes, "split into") {
		t.Errorf("an undercharge note for a covered size:\n%s", notes)
	}
}

func TestFitRejectsNonsense(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sizes []SizeResult
		want  string
	}{
		{"nothing", nil, "no sizes measured"},
		{"only split", []SizeResult{sizeResult(65536, 264528)}, "no sizes measured that are sent in one chunk (up to the fragmentation point, 65484B)"},
		{"no overhead", []SizeResult{sizeResult(1, -30), sizeResult(100, 100)}, "at most 0 B beyond the payload, at 100B"},
		{"too much", []SizeResult{sizeResult(1, 5<<20)}, "more than cost.overhead allows (1MiB)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Fit(tc.sizes, nil, LoopbackFragment)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := Fit([]SizeResult{sizeResult(100, 90)}, nil, 0); !errors.Is(err, ErrNoOverhead) {
		t.Errorf("less than the payload: %v, want ErrNoOverhead", err)
	}
	// 200 B beyond the payload, all of it inside the smallest buffer any
	// header gives 300 B: no kernel keeps no structures besides.
	if _, err := Fit([]SizeResult{sizeResult(300, 500)}, nil, 0); !errors.Is(err, ErrNoOverhead) || !strings.Contains(err.Error(), "any header") {
		t.Errorf("300 B holding 500 B: %v, want ErrNoOverhead", err)
	}
}

// TestFitRecoversSyntheticKernels runs whole calibrations against kernels
// of random header and overhead: the fitted model must charge every payload
// measured in one chunk, probes included, at least what the kernel held.
func TestFitRecoversSyntheticKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for range 200 {
		k := &modelKernel{
			truth: quota.CostModel{Header: 1 + rng.Int64N(3000), Overhead: 64 + rng.Int64N(4096)},
			frag:  LoopbackFragment,
		}
		sizes := []int{1}
		for range 1 + rng.IntN(5) {
			sizes = append(sizes, 1+rng.IntN(MaxPayload))
		}
		rep := calibrateFake(t, k.measure, sizes)
		m := quota.CostModel{Header: rep.Header, Overhead: rep.Overhead}
		for _, p := range k.calls {
			if p > k.frag {
				continue // not fitted: see TestFitLeavesSplitMessagesOut
			}
			if got, want := m.Chunked(p, rep.Fragment), k.truth.Chunked(p, k.frag); got < want {
				t.Fatalf("truth %+v, sizes %v: fitted %+v charges %d B %d, less than the %d it holds", k.truth, sizes, m, p, got, want)
			}
		}
	}
}
