package calibrate

import (
	"context"
	"fmt"
	"slices"
)

// Step is a jump in what a message costs between two payload sizes. The
// kernel's buffers come in power-of-two sizes, so one byte more payload can
// cost a whole buffer more, and the overhead (cost less payload) is largest
// just above a step: on Linux 6.1 a 1-byte message holds about 1.8 KB, a
// 480-byte one about 2.8 KB. Run locates every step below SmallPayload by
// bisection, so that the recommendation covers the worst payload between
// the sizes measured.
type Step struct {
	// Below is the largest payload measured on the cheaper side, Above the
	// smallest on the dearer side.
	Below int `json:"below_bytes"`
	Above int `json:"above_bytes"`
	// CostBelow and CostAbove are host memory per message there, payload
	// included.
	CostBelow float64 `json:"cost_below_bytes"`
	CostAbove float64 `json:"cost_above_bytes"`
	// Overhead bounds the overhead of any payload in (Below, Above]:
	// CostAbove less Below+1 bytes.
	Overhead float64 `json:"overhead_bytes"`
}

// stepThreshold is how much dearer per message a larger payload must be
// for the difference to count as a step rather than noise (which is tens
// of bytes per message).
const stepThreshold = 256

// maxProbes bounds the rounds spent locating steps.
const maxProbes = 24

// minStepMessages is the fewest messages a round must queue for its cost to
// tell a step from noise: MemAvailable moves by ~100 KiB on its own, which
// spread over 2,000 messages is 50 bytes each.
const minStepMessages = 2000

// point is a payload size and its host memory per message.
type point struct {
	payload int
	cost    float64
}

// locateSteps bisects between adjacent measured sizes below SmallPayload
// whose cost differs by a step. Where rounds queue too few messages to
// bisect, a step is recorded between the sizes around it: a bound that
// overcharges rather than one that undercharges.
func (c *calibration) locateSteps(ctx context.Context) error {
	pts := make([]point, len(c.rep.Sizes))
	for i, s := range c.rep.Sizes {
		pts[i] = point{s.Payload, s.PerMessage}
		if s.Payload < SmallPayload && s.Messages < minStepMessages && c.probes < maxProbes {
			c.rep.Notes = append(c.rep.Notes, fmt.Sprintf("cost steps not bisected: %s rounds queued %d messages, too few to tell a step from noise; a step is bounded by the sizes around it, which overcharges (run as root, or raise -max-mem and -messages)",
				FormatSize(int64(s.Payload)), s.Messages))
			c.probes = maxProbes
		}
	}
	slices.SortFunc(pts, func(a, b point) int { return a.payload - b.payload })
	for i := 1; i < len(pts); i++ {
		if err := c.bisect(ctx, pts[i-1], pts[i]); err != nil {
			return err
		}
	}
	return nil
}

// bisect records the steps between lo and hi, measuring one round at the
// midpoint until they are Resolution apart or the probes run out.
func (c *calibration) bisect(ctx context.Context, lo, hi point) error {
	if hi.cost-lo.cost <= stepThreshold || lo.payload >= SmallPayload {
		return nil
	}
	if hi.payload-lo.payload <= c.o.Resolution || c.probes >= maxProbes {
		c.rep.Steps = append(c.rep.Steps, Step{
			Below: lo.payload, Above: hi.payload, CostBelow: lo.cost, CostAbove: hi.cost,
			Overhead: hi.cost - float64(lo.payload+1),
		})
		return nil
	}
	mid := point{payload: (lo.payload + hi.payload) / 2}
	r, err := c.measure(ctx, mid.payload)
	if err != nil {
		return fmt.Errorf("calibrate: locate the cost step between %s and %s: %w", FormatSize(int64(lo.payload)), FormatSize(int64(hi.payload)), err)
	}
	c.probes++
	if r.Messages < minStepMessages {
		c.probes = maxProbes // too noisy to go on: keep the bounds found so far
		return c.bisect(ctx, lo, hi)
	}
	mid.cost = float64(r.HostUsed) / float64(max(r.Messages, 1))
	c.o.Progress("step between %s and %s: %s costs %.0f B/message (%d messages)",
		FormatSize(int64(lo.payload)), FormatSize(int64(hi.payload)), FormatSize(int64(mid.payload)), mid.cost, r.Messages)
	if err := c.bisect(ctx, lo, mid); err != nil {
		return err
	}
	return c.bisect(ctx, mid, hi)
}
