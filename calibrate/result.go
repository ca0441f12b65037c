package calibrate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
)

// Report is the outcome of a calibration.
type Report struct {
	// Kernel is the release of the kernel measured (uname -r).
	Kernel string `json:"kernel"`
	// Budget is the most host memory one round was allowed to take.
	Budget int64 `json:"budget_bytes"`
	// Fragment is the fragmentation point the model splits messages at:
	// the loopback association's, LoopbackFragment if it was not read.
	Fragment int `json:"fragmentation_point_bytes"`
	// Sizes holds one result per payload size, in the order measured.
	Sizes []SizeResult `json:"sizes"`
	// Steps are the cost steps found between the sizes.
	Steps []Step `json:"steps,omitempty"`
	// Header is cost.header: what the kernel adds to a chunk's payload
	// before rounding its buffer up to a power of two (Fit).
	Header int64 `json:"header_bytes"`
	// Overhead is cost.overhead: the memory per chunk beyond its buffer,
	// rounded up to Granularity (Fit).
	Overhead int64 `json:"overhead_bytes"`
	// Worst is the measured point that sets Overhead.
	Worst Worst `json:"worst"`
	// Block is the cost block to put in the configuration file.
	Block string `json:"config_block"`
	// ConfigLine is Block, under the name older releases used for their
	// one-line block.
	ConfigLine string `json:"config_line"`
	// Explanation says in one line where Header and Overhead come from.
	Explanation string `json:"explanation"`
	// Notes are warnings about the measurement: memory that did not come
	// back, rounds that were cut short, steps not located, sizes the model
	// overcharges by more than 2x.
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
	// Charged is what the fitted cost model charges a message of this
	// size, split at the fragmentation point: at least PerMessage.
	Charged int64 `json:"charged_bytes"`
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
	// Fragment is the sender's fragmentation point (SCTP_STATUS), the
	// largest payload sent in one DATA chunk; 0 if unknown.
	Fragment int `json:"fragmentation_point_bytes"`
	// Settled is false when host memory still moved when it was read.
	Settled bool `json:"settled"`
	// Residual is host memory not yet returned a while after the sockets
	// were closed.
	Residual int64 `json:"residual_bytes"`
}

// Granularity is what the fitted overhead is rounded up to.
const Granularity = 64

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

// ErrNoOverhead means the measurements showed no memory beyond the payload
// or the model's buffers, which no kernel does: the readings drowned in
// noise.
var ErrNoOverhead = errors.New("calibrate: measured no per-message overhead")

// Worst is the measured point that sets the fitted overhead.
type Worst struct {
	// Payload is the payload size, in bytes; for a step, the payload on
	// its dearer side Fit counted (see Fit).
	Payload int `json:"payload_bytes"`
	// Overhead is what it held per chunk beyond the model's buffers.
	Overhead float64 `json:"overhead_bytes"`
	// Step is true when it comes from a cost step rather than a size
	// measured in full.
	Step bool `json:"step"`
}

// ConfigBlock returns the configuration block that sets the cost model,
// aligned as hclwrite would.
func ConfigBlock(header, overhead int64) string {
	return fmt.Sprintf("cost {\n  header   = %q\n  overhead = %q\n}", FormatSize(header), FormatSize(overhead))
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

// explain says in one line where the fitted model comes from.
func explain(rep *Report, o Options) string {
	s := fmt.Sprintf("on Linux %s a DATA chunk of n payload bytes is charged pow2ceil(n+%d B) + %d B", rep.Kernel, rep.Header, rep.Overhead)
	if st, ok := binding(rep.Steps, rep.Header); ok {
		s += fmt.Sprintf(": the header puts a buffer doubling right above %s, in the cost step located between %s and %s", FormatSize(int64(st.Below)), FormatSize(int64(st.Below)), FormatSize(int64(st.Above)))
	} else {
		s += ": no located cost step pins the header, so it is the largest that fits the points measured, which overcharges payloads between them"
	}
	what := fmt.Sprintf("a %s message (median of %d rounds)", FormatSize(int64(rep.Worst.Payload)), o.Rounds)
	if rep.Worst.Step {
		what = fmt.Sprintf("a %s message, just above a cost step (one round)", FormatSize(int64(rep.Worst.Payload)))
	}
	s += fmt.Sprintf("; the overhead is the most any point held beyond its buffers, %.0f B per chunk by %s, rounded up to %d B", rep.Worst.Overhead, what, Granularity)
	if len(rep.Sizes) > 0 {
		small := slices.MinFunc(rep.Sizes, func(a, b SizeResult) int { return a.Payload - b.Payload })
		if small.Undercount > 0 {
			s += fmt.Sprintf("; for %s messages the kernel's own accounting shows 1/%.1f of what they hold", FormatSize(int64(small.Payload)), small.Undercount)
		}
	}
	return s
}

// binding returns the located step whose cheaper side the header puts
// right below a buffer doubling: Below plus the header is a power of two.
func binding(steps []Step, header int64) (Step, bool) {
	for _, st := range steps {
		if n := int64(st.Below) + header; st.Located && n&(n-1) == 0 {
			return st, true
		}
	}
	return Step{}, false
}

// WriteText writes the report as a table, then the steps, the notes, the
// explanation as a comment and the cost block, so that the output from
// "cost {" on can be pasted into the configuration file.
func (r *Report) WriteText(w io.Writer) error {
	if err := r.writeTable(w); err != nil {
		return err
	}
	var b strings.Builder
	for _, st := range r.Steps {
		where := "located"
		if !st.Located {
			where = "bounded"
		}
		fmt.Fprintf(&b, "cost step %s: between %s and %s payloads a message goes from %.0f B to %.0f B of host memory\n",
			where, FormatSize(int64(st.Below)), FormatSize(int64(st.Above)), st.CostBelow, st.CostAbove)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	fmt.Fprintf(&b, "\n# %s\n%s\n", r.Explanation, r.Block)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeTable writes one row per size: what was measured, what the fitted
// model charges and their ratio.
func (r *Report) writeTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "payload\tmessages\thost used\tper message\tcharged\tratio\tslab\tkernel claimed\tundercount\tstop\t\n")
	for _, s := range r.Sizes {
		under := "-"
		if s.Undercount > 0 {
			under = fmt.Sprintf("%.1fx", s.Undercount)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.0f B\t%d B\t%.2f\t%s\t%s\t%s\t%s\t\n",
			FormatSize(int64(s.Payload)), s.Messages, mib(s.HostUsed), s.PerMessage, s.Charged, float64(s.Charged)/s.PerMessage,
			mib(s.Slab), mib(s.KernelClaimed), under, stops(s.Rounds))
	}
	return tw.Flush()
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
