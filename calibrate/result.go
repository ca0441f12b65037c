package calibrate

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/sctpguard/sctpguard/config"
)

// Report is the outcome of a calibration.
type Report struct {
	// Kernel is the release of the kernel measured (uname -r).
	Kernel string `json:"kernel"`
	// Budget is the most host memory one round was allowed to take.
	Budget int64 `json:"budget_bytes"`
	// Sizes holds one result per payload size, in the order measured.
	Sizes []SizeResult `json:"sizes"`
	// Steps are the cost steps located below SmallPayload.
	Steps []Step `json:"steps,omitempty"`
	// Overhead is the per-message overhead to configure: the largest
	// overhead over the small payloads and the steps between them, rounded
	// up to Granularity.
	Overhead int64 `json:"overhead_bytes"`
	// Worst is the payload the recommendation comes from: the one with the
	// largest overhead.
	Worst Worst `json:"worst"`
	// ConfigLine is the line to put in the configuration file.
	ConfigLine string `json:"config_line"`
	// Explanation says in one line where Overhead comes from.
	Explanation string `json:"explanation"`
	// Notes are warnings about the measurement: memory that did not come
	// back, rounds that were cut short, large payloads that cost more than
	// the model charges.
	Notes []string `json:"notes,omitempty"`
}

// SizeResult is what messages of one payload size cost, as medians over
// the rounds.
type SizeResult struct {
	Payload int `json:"payload_bytes"`
	// Messages is the median number of messages queued per round.
	Messages int64 `json:"messages"`
	// HostUsed is the median host memory taken per round: the drop of
	// MemAvailable plus per-CPU free pages, less this process's own memory.
	HostUsed int64 `json:"host_used_bytes"`
	// PerMessage is the median host memory per message, payload included.
	PerMessage float64 `json:"per_message_bytes"`
	// Overhead is the median host memory per message beyond its payload.
	Overhead float64 `json:"overhead_bytes"`
	// Slab and SUnreclaim are the median growth of those /proc/meminfo
	// fields per round.
	Slab       int64 `json:"slab_bytes"`
	SUnreclaim int64 `json:"sunreclaim_bytes"`
	// KernelClaimed is the median of what the kernel's own socket
	// accounting charged for the queued messages: the receiver's receive
	// allocation plus the sender's queued send memory.
	KernelClaimed int64 `json:"kernel_claimed_bytes"`
	// Undercount is the median of HostUsed / KernelClaimed per round: how
	// many times more the host lost than the kernel's accounting admits.
	// Zero when the accounting could not be read.
	Undercount float64 `json:"undercount"`
	// Rounds holds every round, in order.
	Rounds []Round `json:"rounds"`
}

// Round is one measurement: one association filled and emptied.
type Round struct {
	Messages int64 `json:"messages"`
	// Stop says why the sender stopped: "cap" (the message cap), "blocked"
	// (the kernel would take no more) or "budget" (the memory budget).
	Stop          string  `json:"stop"`
	HostUsed      int64   `json:"host_used_bytes"`
	Slab          int64   `json:"slab_bytes"`
	SUnreclaim    int64   `json:"sunreclaim_bytes"`
	KernelClaimed int64   `json:"kernel_claimed_bytes"`
	Overhead      float64 `json:"overhead_bytes"`
	// RecvBuffer is the receiver's SO_RCVBUF as the kernel kept it (twice
	// the value set), 0 if unknown.
	RecvBuffer int64 `json:"recv_buffer_bytes"`
	// Settled is false when host memory still moved when it was read.
	Settled bool `json:"settled"`
	// Residual is host memory not yet returned a while after the sockets
	// were closed.
	Residual int64 `json:"residual_bytes"`
}

// Granularity is what the recommended overhead is rounded up to.
const Granularity = 64

// SmallPayload is the largest payload whose overhead counts towards the
// recommendation. Above it the kernel's power-of-two buffers make the
// overhead grow with the payload, which a fixed overhead cannot follow;
// those sizes are reported, with a note where they hold more.
const SmallPayload = 1 << 10

// summarize computes the medians of one size's rounds.
func summarize(payload int, rounds []Round) SizeResult {
	r := SizeResult{Payload: payload, Rounds: rounds}
	pick := func(f func(Round) float64) float64 {
		v := make([]float64, len(rounds))
		for i, x := range rounds {
			v[i] = f(x)
		}
		return Median(v)
	}
	r.Messages = int64(pick(func(x Round) float64 { return float64(x.Messages) }))
	r.HostUsed = int64(pick(func(x Round) float64 { return float64(x.HostUsed) }))
	r.PerMessage = pick(func(x Round) float64 { return float64(x.HostUsed) / float64(max(x.Messages, 1)) })
	r.Overhead = pick(func(x Round) float64 { return x.Overhead })
	r.Slab = int64(pick(func(x Round) float64 { return float64(x.Slab) }))
	r.SUnreclaim = int64(pick(func(x Round) float64 { return float64(x.SUnreclaim) }))
	r.KernelClaimed = int64(pick(func(x Round) float64 { return float64(x.KernelClaimed) }))
	r.Undercount = pick(func(x Round) float64 {
		if x.KernelClaimed <= 0 {
			return 0
		}
		return float64(x.HostUsed) / float64(x.KernelClaimed)
	})
	return r
}

// Median returns the median of v (the mean of the middle two for an even
// count), or 0 for none. It does not modify v.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// RoundUp rounds v up to a whole multiple of step.
func RoundUp(v float64, step int64) int64 {
	return int64(math.Ceil(v/float64(step))) * step
}

// ErrNoOverhead means the measurements showed no memory beyond the payload,
// which no kernel does: the readings drowned in noise.
var ErrNoOverhead = errors.New("calibrate: measured no per-message overhead")

// Worst is the payload with the largest overhead.
type Worst struct {
	// Payload is the payload size, in bytes; for a step, the smallest
	// payload above its cheaper side.
	Payload int `json:"payload_bytes"`
	// Overhead is its host memory per message beyond the payload.
	Overhead float64 `json:"overhead_bytes"`
	// Step is true when it comes from a cost step rather than a size
	// measured in full.
	Step bool `json:"step"`
}

// Recommend returns the overhead to configure: the largest overhead over
// the sizes up to SmallPayload (over all sizes if none is that small) and
// the steps whose cheaper side is below SmallPayload, rounded up to
// Granularity; and where it comes from.
func Recommend(sizes []SizeResult, steps []Step) (int64, Worst, error) {
	var cands []Worst
	for _, s := range sizes {
		if s.Payload <= SmallPayload {
			cands = append(cands, Worst{Payload: s.Payload, Overhead: s.Overhead})
		}
	}
	if len(cands) == 0 {
		for _, s := range sizes {
			cands = append(cands, Worst{Payload: s.Payload, Overhead: s.Overhead})
		}
	}
	for _, st := range steps {
		if st.Below < SmallPayload {
			cands = append(cands, Worst{Payload: st.Below + 1, Overhead: st.Overhead, Step: true})
		}
	}
	if len(cands) == 0 {
		return 0, Worst{}, errors.New("calibrate: no sizes measured")
	}
	w := slices.MaxFunc(cands, func(a, b Worst) int { return cmp.Compare(a.Overhead, b.Overhead) })
	if w.Overhead <= 0 {
		return 0, w, fmt.Errorf("%w (largest %.0f B at %s payloads): the host was too busy or too few messages were queued; retry with more -messages", ErrNoOverhead, w.Overhead, FormatSize(int64(w.Payload)))
	}
	overhead := RoundUp(w.Overhead, Granularity)
	if overhead > config.MaxOverhead {
		return 0, w, fmt.Errorf("calibrate: measured %s per message at %s payloads, more than cost.overhead allows (%s): the readings cannot be right; retry on a quiet host",
			FormatSize(overhead), FormatSize(int64(w.Payload)), FormatSize(config.MaxOverhead))
	}
	return overhead, w, nil
}

// ConfigLine returns the configuration line that sets the overhead.
func ConfigLine(overhead int64) string {
	return fmt.Sprintf("cost { overhead = %q }", FormatSize(overhead))
}

// FormatSize writes n bytes as the configuration's sizes do: "2KiB" when it
// is a whole number of KiB, MiB or GiB, else "1856B".
func FormatSize(n int64) string {
	for _, u := range []struct {
		name string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.size == 0 {
			return fmt.Sprintf("%d%s", n/u.size, u.name)
		}
	}
	return fmt.Sprintf("%dB", n)
}

// explain says in one line where the recommendation comes from.
func explain(rep *Report, o Options, w Worst) string {
	what, how := "a "+FormatSize(int64(w.Payload))+" message", fmt.Sprintf("median of %d rounds", o.Rounds)
	for _, st := range rep.Steps {
		if w.Step && st.Below+1 == w.Payload {
			what = "a message just above " + FormatSize(int64(st.Below))
			how = fmt.Sprintf("above a cost step between %s and %s", FormatSize(int64(st.Below)), FormatSize(int64(st.Above)))
		}
	}
	s := fmt.Sprintf("on Linux %s %s holds up to %.0f B of host memory beyond its payload, the most of any payload up to %s (%s; rounded up to %d B)",
		rep.Kernel, what, w.Overhead, FormatSize(SmallPayload), how, Granularity)
	if len(rep.Sizes) > 0 {
		small := slices.MinFunc(rep.Sizes, func(a, b SizeResult) int { return a.Payload - b.Payload })
		if small.Undercount > 0 {
			s += fmt.Sprintf("; for %s messages the kernel's own accounting shows 1/%.1f of what they hold", FormatSize(int64(small.Payload)), small.Undercount)
		}
	}
	return s
}

// WriteText writes the report as a table, then the explanation as a comment
// and the configuration line, so that `| tail -1` gives the line alone.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "payload\tmessages\thost used\tper message\toverhead\tslab\tkernel claimed\tundercount\tstop\t\n")
	for _, s := range r.Sizes {
		under := "-"
		if s.Undercount > 0 {
			under = fmt.Sprintf("%.1fx", s.Undercount)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.0f B\t%.0f B\t%s\t%s\t%s\t%s\t\n",
			FormatSize(int64(s.Payload)), s.Messages, mib(s.HostUsed), s.PerMessage, s.Overhead,
			mib(s.Slab), mib(s.KernelClaimed), under, stops(s.Rounds))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var b strings.Builder
	for _, st := range r.Steps {
		fmt.Fprintf(&b, "cost step: between %s and %s payloads a message goes from %.0f B to %.0f B of host memory; up to %.0f B beyond its payload\n",
			FormatSize(int64(st.Below)), FormatSize(int64(st.Above)), st.CostBelow, st.CostAbove, st.Overhead)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	fmt.Fprintf(&b, "\n# %s\n%s\n", r.Explanation, r.ConfigLine)
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as indented JSON; field names are stable.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// stops lists the distinct stop reasons of rounds.
func stops(rounds []Round) string {
	var s []string
	for _, r := range rounds {
		if !slices.Contains(s, r.Stop) {
			s = append(s, r.Stop)
		}
	}
	return strings.Join(s, ",")
}

func mib(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
