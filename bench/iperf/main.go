// Command iperf measures SCTP throughput with a tool users already know,
// iperf3 --sctp, sent directly, through socat and through sctpguard, side by
// side in one run, and prints one table with each figure's ratio to the
// direct path and to socat.
//
//	direct     iperf3 -c ──▶ iperf3 -s on 127.0.0.1:P
//	socat      iperf3 -c ──▶ 127.0.0.2:P  socat SCTP (SCTP_NODELAY both legs) ──▶ 127.0.0.1:P
//	sctpguard  iperf3 -c ──▶ 127.0.0.3:P  sctpguard (association quota 4MiB) ──▶ 127.0.0.1:P
//
// iperf3's control connection is TCP on the port of its data, so each relay
// path also forwards TCP on its address and port (a socat beside the
// relay); only the SCTP data goes through the relay measured. Every cell is
// one iperf3 client run (-N, -l size, -P associations, -t after -O of
// warm-up) on each path in turn, the cells are run -rounds times over with
// each round starting on another path, and the table shows medians of what
// the server received. socat relays bytes: it may merge and split iperf3's
// messages, which iperf3 does not check.
//
// It needs a kernel with SCTP and Debian's iperf3 (built with libsctp);
// bench/run.sh (make bench) builds it and runs it in the test VM:
//
//	iperf -guard bin/sctpguard                  # 3 sizes × 1 and 8 associations, 3 rounds (~3 minutes in the VM)
//	iperf -guard bin/sctpguard -sizes 1024 -rounds 1
//	iperf -guard bin/sctpguard -md -            # also the table as markdown between marker lines
//
// Numbers printed come only from the run.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sctpguard/sctpguard/bench/internal/report"
)

// settings are the command's flags.
type settings struct {
	sizes    []int
	parallel []int
	secs     int // measured seconds of one iperf3 run
	omit     int // warm-up seconds iperf3 leaves out
	rounds   int
	guard    string
	socat    string
	iperf3   string
	md       string
	timeout  time.Duration
}

func main() {
	s, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "iperf: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	os.Exit(run(ctx, s, os.Stdout, os.Stderr))
}

func parseFlags(args []string) (settings, error) {
	fs := flag.NewFlagSet("iperf", flag.ContinueOnError)
	var s settings
	sizes := fs.String("sizes", "100,1024,16384", "message sizes in bytes (iperf3 -l), comma-separated")
	parallel := fs.String("parallel", "1,8", "associations per run (iperf3 -P), comma-separated")
	fs.IntVar(&s.secs, "t", 3, "measured seconds of one iperf3 run")
	fs.IntVar(&s.omit, "omit", 1, "warm-up seconds iperf3 leaves out (-O)")
	fs.IntVar(&s.rounds, "rounds", 3, "run every cell this many times, interleaved; the table shows medians")
	fs.StringVar(&s.guard, "guard", "sctpguard", "sctpguard binary")
	fs.StringVar(&s.socat, "socat", "socat", "socat binary")
	fs.StringVar(&s.iperf3, "iperf3", "iperf3", "iperf3 binary")
	fs.StringVar(&s.md, "md", "", "also write the table as markdown to this `file` (- frames it on stdout)")
	fs.DurationVar(&s.timeout, "timeout", 20*time.Minute, "end the whole run after this long")
	if err := fs.Parse(args); err != nil {
		return s, err
	}
	if fs.NArg() > 0 {
		return s, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if s.sizes, err = report.Counts("-sizes", *sizes, 1, 1<<20); err != nil {
		return s, err
	}
	if s.parallel, err = report.Counts("-parallel", *parallel, 1, 128); err != nil {
		return s, err
	}
	if s.secs < 1 || s.omit < 0 || s.rounds < 1 {
		return s, fmt.Errorf("-t and -rounds must be at least 1, -omit not negative")
	}
	return s, nil
}

// run measures every cell and prints the table; it returns the exit status.
func run(ctx context.Context, s settings, stdout, stderr io.Writer) int {
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "iperf: "+format+"\n", args...) }
	if err := preflight(&s); err != nil {
		logf("%v", err)
		return 1
	}
	b, err := setUp(ctx, s)
	if err != nil {
		logf("%v", err)
		return 1
	}
	defer b.tearDown()
	res := results{}
	for round := 1; round <= s.rounds && ctx.Err() == nil; round++ {
		logf("round %d of %d", round, s.rounds)
		b.round(ctx, round, res, logf)
	}
	t := buildTable(s, res)
	fmt.Fprintln(stdout)
	t.writeText(stdout)
	if s.md != "" {
		if err := t.writeMarkdownTo(s.md, stdout); err != nil {
			logf("%v", err)
			return 1
		}
	}
	if len(t.errs) > 0 || ctx.Err() != nil {
		return 1
	}
	return 0
}
