package calibrate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// DefaultSizes are the payload sizes measured when Options.Sizes is nil.
// 64 KiB is above the loopback fragmentation point, so it is sent as two
// chunks.
var DefaultSizes = []int{1, 100, 1 << 10, 16 << 10, 64 << 10}

// Defaults used where an Options field is zero.
const (
	DefaultMessages   = 20000
	DefaultRounds     = 3
	DefaultMaxMem     = 64 << 20
	DefaultStall      = time.Second
	DefaultSettle     = 5 * time.Second
	DefaultResolution = 16
)

// MaxShare is the largest share of MemAvailable one round may take: the
// budget is cut to it whatever Options.MaxMem says.
const MaxShare = 0.25

// minBudget is the smallest budget worth measuring with.
const minBudget = 4 << 20

// Options bounds a calibration. The zero value is usable: every zero field
// means the default documented on it.
type Options struct {
	// Sizes are the payload sizes measured, in bytes, each 1..MaxPayload.
	// If nil, DefaultSizes: 1 B, 100 B, 1 KiB, 16 KiB and 64 KiB.
	Sizes []int
	// Messages caps the messages queued in one round. If zero, 20,000.
	Messages int
	// Rounds is how many times each size is measured; the median counts.
	// If zero, 3.
	Rounds int
	// MaxMem is the most host memory one round may take, in bytes; a round
	// stops sending once the host has lost that much. It is cut to MaxShare
	// of MemAvailable at the start. If zero, 64 MiB.
	MaxMem int64
	// Stall is how long a write may wait before the sender counts as
	// blocked (the kernel takes no more). If zero, 1s.
	Stall time.Duration
	// Settle bounds each wait for host memory to hold still, after the
	// flood and after closing. If zero, 5s.
	Settle time.Duration
	// Resolution is how closely a cost step is located, in bytes of
	// payload. If zero, 16.
	Resolution int
	// DropCaches drops the page cache before every memory reading (needs
	// root), for quieter readings on a host with file activity.
	DropCaches bool
	// Progress, if set, is called with one line per round.
	Progress func(format string, args ...any)
}

// MaxPayload is the largest payload size measured, well within a default
// send buffer (Linux refuses a larger message with EMSGSIZE).
const MaxPayload = 64 << 10

func (o *Options) applyDefaults() {
	if o.Sizes == nil {
		o.Sizes = DefaultSizes
	}
	if o.Messages == 0 {
		o.Messages = DefaultMessages
	}
	if o.Rounds == 0 {
		o.Rounds = DefaultRounds
	}
	if o.MaxMem == 0 {
		o.MaxMem = DefaultMaxMem
	}
	if o.Stall == 0 {
		o.Stall = DefaultStall
	}
	if o.Settle == 0 {
		o.Settle = DefaultSettle
	}
	if o.Resolution == 0 {
		o.Resolution = DefaultResolution
	}
	if o.Progress == nil {
		o.Progress = func(string, ...any) {}
	}
}

// Validate reports every field of o (after defaults) that is out of range,
// in one error.
func (o Options) Validate() error {
	o.applyDefaults()
	var errs []error
	if len(o.Sizes) == 0 {
		errs = append(errs, errors.New("sizes: none given"))
	}
	for _, s := range o.Sizes {
		if s < 1 || s > MaxPayload {
			errs = append(errs, fmt.Errorf("sizes: %d: want 1..%d bytes", s, MaxPayload))
		}
	}
	if o.Messages < 1 {
		errs = append(errs, fmt.Errorf("messages: %d: want at least 1", o.Messages))
	}
	if o.Rounds < 1 {
		errs = append(errs, fmt.Errorf("rounds: %d: want at least 1", o.Rounds))
	}
	if o.Resolution < 1 {
		errs = append(errs, fmt.Errorf("resolution: %d: want at least 1", o.Resolution))
	}
	if o.MaxMem < minBudget {
		errs = append(errs, fmt.Errorf("max memory: %d: want at least %s", o.MaxMem, FormatSize(minBudget)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("calibrate: %w", err)
	}
	return nil
}

// Run measures every size o names on this host's kernel, locates the cost
// steps between them, fits the cost model (Fit) and returns the report with
// the header and overhead to configure. It fails if the kernel has no SCTP, if MaxShare of MemAvailable
// is too small a budget, or if no overhead could be measured. Rounds run
// one after another, each on its own association.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o.applyDefaults()
	if err := sctpsock.Supported(); err != nil {
		return nil, err
	}
	c := &calibration{o: o, rep: &Report{Kernel: kernelRelease()}}
	c.measure = func(ctx context.Context, payload int) (Round, error) {
		return measure(ctx, payload, c.rep.Budget, c.o)
	}
	if err := c.setBudget(); err != nil {
		return nil, err
	}
	for _, size := range o.Sizes {
		if err := c.measureSize(ctx, size); err != nil {
			return nil, err
		}
	}
	if err := c.locateSteps(ctx); err != nil {
		return nil, err
	}
	return c.rep, c.recommend()
}

// calibration is one Run in progress.
type calibration struct {
	o       Options
	rep     *Report
	measure func(ctx context.Context, payload int) (Round, error) // one round
	probes  int                                                   // rounds spent locating steps
	spent   bool                                                  // probes ran out; noted
}

// setBudget cuts Options.MaxMem to MaxShare of MemAvailable.
func (c *calibration) setBudget() error {
	mi, err := ReadMeminfo()
	if err != nil {
		return err
	}
	c.rep.Budget = c.o.MaxMem
	if limit := int64(float64(mi.Available) * MaxShare); limit < c.rep.Budget {
		c.rep.Budget = limit
		c.rep.Notes = append(c.rep.Notes, fmt.Sprintf("budget cut to %s, %.0f%% of MemAvailable", mib(limit), MaxShare*100))
	}
	if c.rep.Budget < minBudget {
		return fmt.Errorf("calibrate: only %s available: a round needs at least %s, at most %.0f%% of MemAvailable", mib(mi.Available), mib(minBudget), MaxShare*100)
	}
	return nil
}

// measureSize runs the rounds of one payload size.
func (c *calibration) measureSize(ctx context.Context, size int) error {
	var rounds []Round
	for i := range c.o.Rounds {
		r, err := c.measure(ctx, size)
		if err != nil {
			return fmt.Errorf("calibrate %s round %d: %w", FormatSize(int64(size)), i+1, err)
		}
		c.o.Progress("%s round %d/%d: %d messages (%s), host %s (slab %s), kernel claimed %s, overhead %.0f B/message, not returned %s",
			FormatSize(int64(size)), i+1, c.o.Rounds, r.Messages, r.Stop, mib(r.HostUsed), mib(r.Slab), mib(r.KernelClaimed), r.Overhead, mib(r.Residual))
		rounds = append(rounds, r)
	}
	c.rep.Sizes = append(c.rep.Sizes, summarize(size, rounds))
	return nil
}

// recommend fits the cost model and fills in the report: the header and
// overhead, what the model charges each size, the block and the notes.
func (c *calibration) recommend() error {
	rep := c.rep
	rep.Notes = append(rep.Notes, notes(rep.Sizes, rep.Budget)...)
	rep.Fragment = fragment(rep.Sizes)
	f, err := Fit(rep.Sizes, rep.Steps, rep.Fragment)
	if err != nil {
		return err
	}
	rep.Header, rep.Overhead, rep.Worst = f.Header, f.Overhead, f.Worst
	m := f.Model()
	for i, s := range rep.Sizes {
		rep.Sizes[i].Charged = m.Chunked(s.Payload, rep.Fragment)
		c.noteCharge(rep.Sizes[i], rep.Fragment)
	}
	rep.Block = ConfigBlock(f.Header, f.Overhead)
	rep.ConfigLine = rep.Block
	rep.Explanation = explain(rep, c.o)
	return nil
}

// noteCharge notes a size the fitted model overcharges more than twice, or
// undercharges (only messages split into chunks, which Fit leaves out).
func (c *calibration) noteCharge(s SizeResult, frag int) {
	ratio := float64(s.Charged) / s.PerMessage
	switch {
	case ratio > 2:
		c.note("%s messages are charged %d B, %.1fx the %.0f B they hold: the cost model overcharges them; a quota admits fewer of them than it could",
			FormatSize(int64(s.Payload)), s.Charged, ratio, s.PerMessage)
	case ratio < 1:
		c.note("%s messages, split into %d chunks at the fragmentation point of %s, hold %.0f B, %.2fx the %d B the cost model charges: the kernel keeps more for a split message than its chunks' buffers (about one more buffer of the first chunk on Linux 6.1), which the model has no term for; quotas undercharge messages above %s by up to this much",
			FormatSize(int64(s.Payload)), Split(s.Payload, frag), FormatSize(int64(frag)), s.PerMessage, 1/ratio, s.Charged, FormatSize(int64(frag)))
	}
}

// fragment returns the fragmentation point the rounds reported, or
// LoopbackFragment if none did.
func fragment(sizes []SizeResult) int {
	for _, s := range sizes {
		for _, r := range s.Rounds {
			if r.Fragment > 0 {
				return r.Fragment
			}
		}
	}
	return LoopbackFragment
}

// notes warns about rounds whose readings deserve less trust, one line per
// size and kind of trouble.
func notes(sizes []SizeResult, budget int64) []string {
	var out []string
	for _, s := range sizes {
		var unsettled, unreturned, capped, few []int
		var rcvbuf int64
		for i, r := range s.Rounds {
			switch {
			case !r.Settled:
				unsettled = append(unsettled, i+1)
			case r.Residual > max(1<<20, r.HostUsed/10):
				unreturned = append(unreturned, i+1)
			}
			if r.Stop == "blocked" && r.RecvBuffer > 0 && r.RecvBuffer < 2*budget {
				capped, rcvbuf = append(capped, i+1), r.RecvBuffer/2
			}
			if r.Messages < 1000 && noisy(r) {
				few = append(few, i+1)
			}
		}
		name := FormatSize(int64(s.Payload))
		if len(unsettled) > 0 {
			out = append(out, fmt.Sprintf("%s, rounds %v: host memory had not settled when read", name, unsettled))
		}
		if len(unreturned) > 0 {
			out = append(out, fmt.Sprintf("%s, rounds %v: more than a tenth of the memory had not come back after closing", name, unreturned))
		}
		if len(capped) > 0 {
			out = append(out, fmt.Sprintf("%s, rounds %v: the receive buffer was capped at %s (net.core.rmem_max), so the kernel took fewer messages; as root it takes more", name, capped, mib(rcvbuf)))
		}
		if len(few) > 0 {
			out = append(out, fmt.Sprintf("%s, rounds %v: fewer than 1000 messages queued (median %d): the overhead is noisy", name, few, s.Messages))
		}
	}
	return out
}

// noisy reports whether host memory moving by ~100 KiB on its own would
// move r's cost per message by more than 1%.
func noisy(r Round) bool {
	return r.Messages <= 0 || 100<<10/float64(r.Messages) > float64(r.HostUsed)/float64(r.Messages)/100
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "(unknown)"
	}
	return unix.ByteSliceToString(u.Release[:])
}
