package kerneltest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/calibrate"
	"github.com/sctpguard/sctpguard/config"
	"github.com/sctpguard/sctpguard/test/rig"
)

func TestMain(m *testing.M) { os.Exit(rig.Main(m)) }

// TestCalibrate runs a short calibration of 1-byte and 1 KiB messages and
// checks that what it measures is plausible and what it prints is a valid
// configuration line. Linux 6.1 in the VM: ~1.8 KB per 1-byte message, ~8
// times what the kernel's accounting claims, and a cost step near 475 B.
func TestCalibrate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := calibrate.Run(ctx, calibrate.Options{
		Sizes:      []int{1, 1024},
		Messages:   3000,
		Rounds:     3,
		MaxMem:     32 << 20,
		Resolution: 64,
		Progress:   t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Sizes {
		t.Logf("%5d B: %d messages, host %d B, %.0f B/message, overhead %.0f B, slab %d B, kernel claimed %d B (%.1fx)",
			s.Payload, s.Messages, s.HostUsed, s.PerMessage, s.Overhead, s.Slab, s.KernelClaimed, s.Undercount)
		for i, r := range s.Rounds {
			if r.Messages != 3000 || r.Stop != "cap" {
				t.Errorf("%d B round %d: %d messages, stopped by %s; want the cap of 3000", s.Payload, i+1, r.Messages, r.Stop)
			}
			if r.Residual > r.HostUsed/4+(1<<20) {
				t.Errorf("%d B round %d: %d B of %d B not returned after closing", s.Payload, i+1, r.Residual, r.HostUsed)
			}
		}
	}
	for _, st := range rep.Steps {
		t.Logf("step: %d B → %d B: %.0f → %.0f B/message, up to %.0f B overhead", st.Below, st.Above, st.CostBelow, st.CostAbove, st.Overhead)
	}
	for _, n := range rep.Notes {
		t.Logf("note: %s", n)
	}
	t.Logf("%s\n%s", rep.Explanation, rep.ConfigLine)

	one := rep.Sizes[0]
	if one.Overhead < 200 || one.Overhead > 8192 {
		t.Errorf("1-byte messages: overhead %.0f B per message, want 200 B..8 KiB", one.Overhead)
	}
	if one.KernelClaimed <= 0 || one.Undercount < 2 {
		t.Errorf("1-byte messages: kernel claimed %d B, %.1fx less than the host lost; want at least 2x", one.KernelClaimed, one.Undercount)
	}
	for _, s := range rep.Sizes {
		if float64(rep.Overhead) < s.Overhead {
			t.Errorf("recommended %d B, less than the %.0f B measured at %d B", rep.Overhead, s.Overhead, s.Payload)
		}
	}

	src := "relay \"r\" {\n  listen = [\"127.0.0.1:3868\"]\n  upstream = [\"127.0.0.1:3869\"]\n}\n" + rep.ConfigLine + "\n"
	cfg, err := config.Parse([]byte(src), "calibrated.hcl")
	if err != nil {
		t.Fatalf("the printed line does not parse: %v\n%s", err, src)
	}
	if cfg.Cost.Overhead != rep.Overhead {
		t.Fatalf("cost.overhead %d after parsing %q, want %d", cfg.Cost.Overhead, rep.ConfigLine, rep.Overhead)
	}
}
