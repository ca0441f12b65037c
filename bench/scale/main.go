// Command scale measures sctpguard at many concurrent associations: it opens
// N associations through one sctpguard process to an echo peer, and reports
// the set-up rate, sctpguard's resident memory per idle relayed association,
// its OS thread count, and that every association still relays after idling.
//
// It needs a kernel with SCTP and root (to raise RLIMIT_NOFILE and widen the
// local port range: each relayed association holds four sockets, two of them
// in sctpguard); bench/run.sh (make bench) runs it in the test VM:
//
//	scale -guard bin/sctpguard              # 10,000 associations
//	scale -guard bin/sctpguard -n 1000      # a quicker run
//	scale -guard bin/sctpguard -md -        # also frame the table as markdown
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
)

// settings are the command's flags.
type settings struct {
	n, conc int
	idle    time.Duration
	guard   string
	md      string
	pprof   string
	timeout time.Duration
}

func main() {
	s, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "scale: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	os.Exit(run(ctx, s, os.Stdout, os.Stderr))
}

func parseFlags(args []string) (settings, error) {
	fs := flag.NewFlagSet("scale", flag.ContinueOnError)
	var s settings
	fs.IntVar(&s.n, "n", 10_000, "associations to hold open at once")
	fs.IntVar(&s.conc, "conc", 64, "associations set up at a time")
	fs.DurationVar(&s.idle, "idle", 5*time.Second, "how long the associations idle before memory is read")
	fs.StringVar(&s.guard, "guard", "sctpguard", "sctpguard binary")
	fs.StringVar(&s.md, "md", "", "also write the table as markdown to this `file` (- frames it on stdout)")
	fs.StringVar(&s.pprof, "pprof", "", "write sctpguard's heap profile with every association idle to this `file`")
	fs.DurationVar(&s.timeout, "timeout", 20*time.Minute, "end the whole run after this long")
	if err := fs.Parse(args); err != nil {
		return s, err
	}
	switch {
	case fs.NArg() > 0:
		return s, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case s.n < 1 || s.n > 60_000:
		return s, fmt.Errorf("-n: %d is not from 1 to 60000 (two local ports per association)", s.n)
	case s.conc < 1:
		return s, fmt.Errorf("-conc: %d is not a positive count", s.conc)
	}
	return s, nil
}

// run measures and prints the table; it returns the exit status.
func run(ctx context.Context, s settings, stdout, stderr io.Writer) int {
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "scale: "+format+"\n", args...) }
	if err := raiseLimits(s.n, logf); err != nil {
		logf("%v", err)
		return 1
	}
	r, err := measure(ctx, s, logf)
	if err != nil {
		logf("%v", err)
		return 1
	}
	if err := r.write(stdout, s.md); err != nil {
		logf("%v", err)
		return 1
	}
	if r.failed > 0 {
		return 1
	}
	return 0
}
