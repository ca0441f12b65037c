package calibrate

import (
	"context"
	"fmt"
	"slices"
)

// Step is a jump in what a message costs between two payload sizes. The
// kernel's buffers come in power-of-two sizes, so one byte more payload can
// cost a whole buffer more: on Linux 6.1 a 480-byte message holds about
// 1.8 KB, a 490-byte one about 2.8 KB. Where a step falls pins the header
// of the cost model (a chunk's buffer is its payload plus the header,
// rounded up to a power of two), so Run locates the steps between the
// sizes it measured by bisection, lowest first, as far as maxProbes allows.
type Step struct {
	// Below is the largest payload measured on the cheaper side, Above the
	// smallest on the dearer side.
	Below int `json:"below_bytes"`
	Above int `json:"above_bytes"`
	// CostBelow and CostAbove are host memory per message there, payload
	// included.
	CostBelow float64 `json:"cost_below_bytes"`
	CostAbove float64 `json:"cost_above_bytes"`
	// Overhead bounds what any payload in (Below, Above] holds beyond its
	// payload: CostAbove less Below+1 bytes.
	Overhead float64 `json:"overhead_bytes"`
	// Located is true when Below and Above are at most Options.Resolution
	// apart. Fit then charges CostAbove from Below+1 on; an unlocated step
	// only bounds where the step is.
	Located bool `json:"located"`
}

// stepThreshold is how much dearer per message a larger payload must be
// for the difference to count as a step rather than noise (which is tens
// of bytes per message). Above 2 KiB an eighth of the cheaper cost counts
// instead: a step there doubles a buffer of several KiB.
const stepThreshold = 256

// maxProbes bounds the rounds spent locating steps.
const maxProbes = 24

// minStepMessages is the fewest messages a round must queue for its cost to
// tell a step of stepThreshold from noise: MemAvailable moves by ~100 KiB on
// its own, which spread over 2,000 messages is 50 bytes each. Larger steps
// need proportionally fewer.
const minStepMessages = 2000

// point is a payload size, its host memory per message and the messages
// that was measured over.
type point struct {
	payload  int
	cost     float64
	messages int64
}

// threshold is the least cost difference above lo that counts as a step.
func threshold(lo point) float64 {
	return max(stepThreshold, lo.cost/8)
}

// tells reports whether a round of p's messages is precise enough to tell
// a step above lo from noise.
func tells(p, lo point) bool {
	return float64(p.messages)*threshold(lo) >= minStepMessages*stepThreshold
}

// locateSteps bisects between adjacent measured sizes whose cost differs by
// a step, lowest first. Where rounds queue too few messages to bisect, or
// the probes run out, a step is recorded between the sizes around it.
func (c *calibration) locateSteps(ctx context.Context) error {
	pts := make([]point, len(c.rep.Sizes))
	for i, s := range c.rep.Sizes {
		pts[i] = point{s.Payload, s.PerMessage, s.Messages}
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
// midpoint until they are Resolution apart, the probes run out or a round
// queues too few messages to tell.
func (c *calibration) bisect(ctx context.Context, lo, hi point) error {
	if hi.cost-lo.cost <= threshold(lo) {
		return nil
	}
	if hi.payload-lo.payload <= c.o.Resolution || !c.canProbe(lo, hi) {
		c.addStep(lo, hi)
		return nil
	}
	mid := point{payload: (lo.payload + hi.payload) / 2}
	r, err := c.measure(ctx, mid.payload)
	if err != nil {
		return fmt.Errorf("calibrate: locate the cost step between %s and %s: %w", FormatSize(int64(lo.payload)), FormatSize(int64(hi.payload)), err)
	}
	c.probes++
	mid.cost, mid.messages = float64(r.HostUsed)/float64(max(r.Messages, 1)), r.Messages
	if !tells(mid, lo) {
		c.note("cost step between %s and %s not bisected further: a %s round queued %d messages, too few to tell a step from noise; it is bounded by the sizes around it (run as root, or raise -max-mem and -messages)",
			FormatSize(int64(lo.payload)), FormatSize(int64(hi.payload)), FormatSize(int64(mid.payload)), mid.messages)
		c.addStep(lo, hi)
		return nil
	}
	c.o.Progress("step between %s and %s: %s costs %.0f B/message (%d messages)",
		FormatSize(int64(lo.payload)), FormatSize(int64(hi.payload)), FormatSize(int64(mid.payload)), mid.cost, r.Messages)
	if err := c.bisect(ctx, lo, mid); err != nil {
		return err
	}
	return c.bisect(ctx, mid, hi)
}

// canProbe reports whether a probe between lo and hi may run, noting why
// not.
func (c *calibration) canProbe(lo, hi point) bool {
	switch {
	case c.probes >= maxProbes:
		if !c.spent {
			c.note("cost steps from %s up bounded by the payloads around them, not located: the %d probes were spent on smaller payloads",
				FormatSize(int64(lo.payload)), maxProbes)
			c.spent = true
		}
		return false
	case !tells(lo, lo) || !tells(hi, lo):
		c.note("cost step between %s and %s not bisected: their rounds queued %d and %d messages, too few to tell a step from noise; it is bounded by them (run as root, or raise -max-mem and -messages)",
			FormatSize(int64(lo.payload)), FormatSize(int64(hi.payload)), lo.messages, hi.messages)
		return false
	}
	return true
}

// addStep records a step between lo and hi.
func (c *calibration) addStep(lo, hi point) {
	c.rep.Steps = append(c.rep.Steps, Step{
		Below: lo.payload, Above: hi.payload, CostBelow: lo.cost, CostAbove: hi.cost,
		Overhead: hi.cost - float64(lo.payload+1),
		Located:  hi.payload-lo.payload <= c.o.Resolution,
	})
}

// note adds a note to the report.
func (c *calibration) note(format string, args ...any) {
	c.rep.Notes = append(c.rep.Notes, fmt.Sprintf(format, args...))
}
