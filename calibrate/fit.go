package calibrate

import (
	"errors"
	"fmt"
	"math"

	"github.com/sctpguard/sctpguard/config"
	"github.com/sctpguard/sctpguard/quota"
)

// LoopbackFragment is the fragmentation point Linux 6.1 reports
// (SCTP_STATUS) for an IPv4 association over lo, whose MTU is 65536: a 64 KiB
// message is split there into two chunks. Run reads the association's own
// and uses this only when it cannot.
const LoopbackFragment = 65484

// MaxFitHeader is the largest header the fit tries; it tries every one from
// 1 byte up, so that it can put a buffer doubling exactly where a located
// step is. Linux 6.1 adds ~542 bytes.
const MaxFitHeader = 4096

// Fitted is a cost model fitted to measurements: quota.CostModel's Header
// and Overhead, and where they come from.
type Fitted struct {
	// Header is added to a chunk's payload before its buffer is rounded up
	// to a power of two, in bytes.
	Header int64
	// Overhead is charged per chunk beyond its buffer, in bytes: the most
	// any measured point holds beyond the buffer the model gives it,
	// rounded up to Granularity.
	Overhead int64
	// Worst is the measured point that sets Overhead.
	Worst Worst
	// Overcharge is the sum over the measured points of what the model
	// charges beyond what was measured, relative to it: what the fit
	// minimises.
	Overcharge float64
}

// Model returns the fitted cost model.
func (f Fitted) Model() quota.CostModel {
	return quota.CostModel{Header: f.Header, Overhead: f.Overhead}
}

// sample is one measured point: a payload and the host memory a message of
// it held.
type sample struct {
	payload int
	cost    float64
	step    bool // the dearer side of a cost step
}

// Fit fits quota's cost model to what was measured: the sizes, and both
// sides of every step, sent in one chunk (payload up to frag; frag ≤ 0
// means every payload). Messages split into several chunks are left out:
// on Linux 6.1 they hold one more buffer of their first chunk (a 64 KiB
// message ~264 KB, not ~134 KB), which quota's model charges as a reassembly
// buffer; fitting them would only add noise. Run notes any size the fitted
// model undercharges.
// The dearer side of a located step counts at the
// cheaper side's payload plus one, the least payload that may pay it, so
// that the model puts its buffer doubling no later than the kernel's.
//
// For every header from MaxFitHeader down to 1, the overhead is the
// largest cost less the model's buffers, per chunk, over every point, so the
// model never charges a measured point less than it held. The header whose
// model overcharges the points least (relative to each point's cost; the
// larger header on a tie, which puts the doubling earlier) wins.
//
// It fails with ErrNoOverhead when the points show no memory beyond their
// payload or buffers, and when the overhead exceeds config.MaxOverhead.
func Fit(sizes []SizeResult, steps []Step, frag int) (Fitted, error) {
	pts := samples(sizes, steps, frag)
	if len(pts) == 0 {
		return Fitted{}, fmt.Errorf("calibrate: fit: no sizes measured that are sent in one chunk (up to the fragmentation point, %s)", FormatSize(int64(frag)))
	}
	if err := checkBeyondPayload(pts); err != nil {
		return Fitted{}, err
	}
	best, found := Fitted{}, false
	for h := int64(MaxFitHeader); h >= 1; h-- {
		f, ok := fitHeader(pts, h, frag)
		if ok && (!found || f.Overcharge < best.Overcharge) {
			best, found = f, true
		}
	}
	if !found {
		return Fitted{}, fmt.Errorf("%w: with any header up to %d B the model's buffers hold all that was measured, leaving no overhead; the readings drowned in noise", ErrNoOverhead, MaxFitHeader)
	}
	return best, checkLimits(best)
}

// samples lists the measured points sent in one chunk: every size, both
// sides of every step.
func samples(sizes []SizeResult, steps []Step, frag int) []sample {
	var pts []sample
	add := func(p sample) {
		if frag <= 0 || p.payload <= frag {
			pts = append(pts, p)
		}
	}
	for _, s := range sizes {
		add(sample{payload: s.Payload, cost: s.PerMessage})
	}
	for _, st := range steps {
		dear := st.Above
		if st.Located {
			dear = st.Below + 1
		}
		add(sample{payload: st.Below, cost: st.CostBelow})
		add(sample{payload: dear, cost: st.CostAbove, step: true})
	}
	return pts
}

// checkBeyondPayload fails with ErrNoOverhead if no point held more than
// its payload.
func checkBeyondPayload(pts []sample) error {
	most := pts[0]
	for _, p := range pts {
		if p.cost-float64(p.payload) > most.cost-float64(most.payload) {
			most = p
		}
	}
	if most.cost-float64(most.payload) > 0 {
		return nil
	}
	return fmt.Errorf("%w (at most %.0f B beyond the payload, at %s payloads): the host was too busy or too few messages were queued; retry with more -messages",
		ErrNoOverhead, most.cost-float64(most.payload), FormatSize(int64(most.payload)))
}

// fitHeader returns the model with header h that charges every point at
// least its cost, and false if that model would need no overhead.
func fitHeader(pts []sample, h int64, frag int) (Fitted, bool) {
	f := Fitted{Header: h, Worst: Worst{Overhead: math.Inf(-1)}}
	for _, p := range pts {
		buf, chunks := buffers(h, p.payload, frag)
		if need := (p.cost - float64(buf)) / float64(chunks); need > f.Worst.Overhead {
			f.Worst = Worst{Payload: p.payload, Overhead: need, Step: p.step}
		}
	}
	if f.Worst.Overhead <= 0 {
		return f, false
	}
	f.Overhead = RoundUp(f.Worst.Overhead, Granularity)
	m := f.Model()
	for _, p := range pts {
		f.Overcharge += (float64(m.Chunked(p.payload, frag)) - p.cost) / p.cost
	}
	return f, true
}

// Split returns how many chunks a message of payload bytes is sent in at
// the fragmentation point frag.
func Split(payload, frag int) int64 {
	_, chunks := buffers(1, payload, frag)
	return chunks
}

// buffers returns the bytes of power-of-two buffers a message of payload
// bytes takes under header h, and in how many chunks, as quota.CostModel
// splits it: its cost with an overhead of 2 per chunk less that with 1 is
// the chunk count.
func buffers(h int64, payload, frag int) (buf, chunks int64) {
	one := quota.CostModel{Header: h, Overhead: 1}.Chunked(payload, frag)
	two := quota.CostModel{Header: h, Overhead: 2}.Chunked(payload, frag)
	chunks = two - one
	return one - chunks, chunks
}

// checkLimits rejects a fit that the configuration would refuse.
func checkLimits(f Fitted) error {
	var errs []error
	if f.Overhead > config.MaxOverhead {
		errs = append(errs, fmt.Errorf("overhead %s per chunk (from %.0f B beyond its buffers at %s payloads) is more than cost.overhead allows (%s)",
			FormatSize(f.Overhead), f.Worst.Overhead, FormatSize(int64(f.Worst.Payload)), FormatSize(config.MaxOverhead)))
	}
	if f.Header > config.MaxHeader {
		errs = append(errs, fmt.Errorf("header %s is more than cost.header allows (%s)", FormatSize(f.Header), FormatSize(config.MaxHeader)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("calibrate: fit: %w: the readings cannot be right; retry on a quiet host", err)
	}
	return nil
}
