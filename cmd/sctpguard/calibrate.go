package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sctpguard/sctpguard/calibrate"
	"github.com/sctpguard/sctpguard/config"
)

func calibrateCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("calibrate", "sctpguard calibrate [--json | -block] [-sizes LIST] [-messages N] [-rounds N] [-max-mem SIZE]",
		`Measures what one SCTP message really costs this host's kernel, fits the cost
model to it and prints the cost block for the configuration file. The kernel
keeps each DATA chunk of a message in a buffer of its payload plus a header,
rounded up to a power of two, and some structures besides; sctpguard charges
every chunk pow2ceil(payload + header) + overhead.

For each payload size it opens a loopback association whose receiver never
reads and queues messages with SCTP_NODELAY until the message cap, the memory
budget or the kernel's own limit stops it. The host memory taken (MemAvailable
plus the free pages on per-CPU lists) divided by the messages queued is the
cost per message; the median of the rounds counts. Where the cost jumps between
two sizes (a buffer doubles), it bisects to locate the jump, lowest payloads
first, at most 24 probes: where a jump falls pins the header. Then it tries
every header from 1B to 4KiB, takes as overhead the most any measured point
held beyond the model's buffers (so no measured point is undercharged), and
keeps the header that overcharges the points least; the overhead is rounded up
to 64B. Messages above the fragmentation point (65484B on loopback) are sent
in several chunks; the fit leaves them out and a note says how much the model,
which charges each chunk, undercharges them (Linux 6.1 holds ~2x). The table
shows what the fitted model charges each size next to
what it held, and what the kernel's own socket accounting claimed.

Progress goes to stderr; the table, notes, a comment line and the cost block go
to stdout (with -block, only the block; the comment and notes go to stderr).
It takes host memory while it runs (at most -max-mem per round, never more than
25% of MemAvailable) and gives it back after each round. Run it on an otherwise
quiet host, as root (receive buffers beyond net.core.rmem_max).

Examples:
  sctpguard calibrate
  sctpguard calibrate -q -block >> /etc/sctpguard/sctpguard.hcl   # a file with no cost block yet
  sctpguard calibrate -sizes 1,100,500,2KiB -messages 5000 -rounds 5
  sctpguard calibrate --json | jq '{header_bytes, overhead_bytes, sizes: [.sizes[] | {payload_bytes, per_message_bytes, charged_bytes}]}'

Exit codes: 0 ok, 1 the measurement failed (no SCTP, too little memory, too noisy), 2 usage error.`, stderr)
	block := fs.Bool("block", false, "print only the cost block on stdout, to append to the configuration file")
	asJSON := fs.Bool("json", false, "print the report as JSON (field names are stable)")
	sizes := fs.String("sizes", "1,100,1KiB,16KiB,64KiB", "payload sizes to measure, comma-separated `list` (each 1B..64KiB)")
	messages := fs.Int("messages", calibrate.DefaultMessages, "most messages queued per round")
	rounds := fs.Int("rounds", calibrate.DefaultRounds, "rounds per size; the median counts")
	maxMem := fs.String("max-mem", "64MiB", "most host memory one round may take (`size`); never more than 25% of MemAvailable")
	dropCaches := fs.Bool("drop-caches", false, "drop the page cache before every memory reading (root; quieter on a busy host)")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after this long")
	quiet := fs.Bool("q", false, "print no progress lines")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	o := calibrate.Options{Messages: *messages, Rounds: *rounds, DropCaches: *dropCaches}
	var err error
	switch {
	case *asJSON && *block:
		err = errors.New("--json and -block: choose one")
	case *messages < 1:
		err = fmt.Errorf("-messages %d: want at least 1", *messages)
	case *rounds < 1:
		err = fmt.Errorf("-rounds %d: want at least 1", *rounds)
	default:
		o.Sizes, err = parseSizes(*sizes)
	}
	if err == nil {
		o.MaxMem, err = config.ParseSize(*maxMem)
		if err != nil {
			err = fmt.Errorf("-max-mem: %w", err)
		}
	}
	if err == nil {
		err = o.Validate()
	}
	if err != nil {
		fmt.Fprintf(stderr, "sctpguard calibrate: %v\n", err)
		return exitUsage
	}
	if !*quiet {
		o.Progress = func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) }
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	rep, err := calibrate.Run(ctx, o)
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w: gave up after -timeout %v", err, *timeout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "sctpguard calibrate: %v\n", err)
		return exitFailure
	}
	switch {
	case *asJSON:
		err = rep.WriteJSON(stdout)
	case *block:
		err = writeBlock(rep, stdout, stderr, *quiet)
	default:
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "sctpguard calibrate: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// writeBlock writes the cost block alone to stdout and, unless quiet, the
// notes and the explanation to stderr.
func writeBlock(rep *calibrate.Report, stdout, stderr io.Writer, quiet bool) error {
	if !quiet {
		for _, n := range rep.Notes {
			fmt.Fprintf(stderr, "note: %s\n", n)
		}
		fmt.Fprintf(stderr, "# %s\n", rep.Explanation)
	}
	_, err := fmt.Fprintln(stdout, rep.Block)
	return err
}

// parseSizes parses a comma-separated list of sizes such as "1,100,1KiB".
func parseSizes(list string) ([]int, error) {
	var out []int
	for s := range strings.SplitSeq(list, ",") {
		n, err := config.ParseSize(s)
		if err != nil {
			return nil, fmt.Errorf("-sizes: %w", err)
		}
		if n < 1 || n > calibrate.MaxPayload {
			return nil, fmt.Errorf("-sizes: %q: want 1B..%s", strings.TrimSpace(s), calibrate.FormatSize(calibrate.MaxPayload))
		}
		out = append(out, int(n))
	}
	return out, nil
}
