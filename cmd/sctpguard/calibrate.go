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
	fs := newFlagSet("calibrate", "sctpguard calibrate [--json] [-sizes LIST] [-messages N] [-rounds N] [-max-mem SIZE]",
		`Measures what one SCTP message really costs this host's kernel and prints the
cost line for the configuration file.

For each payload size it opens a loopback association whose receiver never
reads and queues messages with SCTP_NODELAY until the message cap, the memory
budget or the kernel's own limit stops it. The host memory taken (MemAvailable
plus the free pages on per-CPU lists), less the payload, divided by the messages
queued is the overhead per message; the median of the rounds counts. Where the
cost jumps between two sizes up to 1KiB (the kernel's buffers double), it
bisects to find the payload just above the jump, whose overhead is the largest.
The recommendation is the largest overhead up to 1KiB, rounded up to 64B. The
table also shows what the kernel's own socket accounting claimed.

Progress goes to stderr; the table, notes, a comment line and the cost line go
to stdout. It takes host memory while it runs (at most -max-mem per round, never
more than 25% of MemAvailable) and gives it back after each round. Run it on an
otherwise quiet host, as root (receive buffers beyond net.core.rmem_max).

Examples:
  sctpguard calibrate
  sctpguard calibrate -q | tail -1      # only the line: cost { overhead = "2368B" }
  sctpguard calibrate -sizes 1,100,500 -messages 5000 -rounds 5
  sctpguard calibrate --json | jq '.sizes[] | {payload_bytes, overhead_bytes}'

Exit codes: 0 ok, 1 the measurement failed (no SCTP, too little memory, too noisy), 2 usage error.`, stderr)
	asJSON := fs.Bool("json", false, "print the report as JSON (field names are stable)")
	sizes := fs.String("sizes", "1,100,1KiB,16KiB", "payload sizes to measure, comma-separated `list` (each 1B..64KiB)")
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
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "sctpguard calibrate: %v\n", err)
		return exitFailure
	}
	return exitOK
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
