// Command throughput measures what relaying costs: SCTP throughput, the
// relay's CPU time per message and round-trip latency, sent directly,
// through socat and through sctpguard, side by side in one run, and prints
// one table with every figure's ratio to the direct path and to socat.
//
// Every cell runs the three paths one after the other, so that they share
// the machine's state of the moment, and the cells are run -rounds times
// over (each round starting with another path); the table shows medians,
// and a note says how far the rounds disagreed. On a shared machine and in
// an emulated VM absolute figures mean little: read the ratios.
//
//	direct     client ──SCTP──▶ server
//	socat      client ──SCTP──▶ socat (byte relay, nodelay both legs) ──SCTP──▶ server
//	sctpguard  client ──SCTP──▶ sctpguard (association quota 4MiB, global 1GiB) ──SCTP──▶ server
//
// Throughput: for each message size and association count, one sender per
// association writes messages of that size as fast as the kernel takes
// them, with SCTP_NODELAY; the server (kernel-default buffers unless
// -rcvbuf) reads them. After a warm-up, the messages and bytes the server
// reads in -dur are the cell's rate. The server checks, on the direct and
// sctpguard paths, that every message arrives whole and in sequence. socat
// relays bytes, not messages: it can merge small messages and splits large
// ones at its 8 KiB buffer, so its messages per second are bytes received
// ÷ message size, and a note gives the mean size of what actually arrived.
//
// CPU: the relay's user+system time (/proc/PID/stat, summed over socat's
// forked children) over the same window, per million messages relayed.
//
// A note lists the cells during which the kernel's SCTP retransmission
// timer fired (SctpT3RtxExpireds), with the DATA chunks receivers discarded
// meanwhile (SctpInDataChunkDiscards): such a cell's rate is bound by the
// timer (net.sctp.rto_min, 1 s by default), not by the relay. A relay's
// front window that closes while its upstream is the bottleneck turns the
// sender's next chunk into a zero-window probe, which Linux discards and
// resends only when the timer fires (see docs/benchmarks.md).
//
// The servers run in this network namespace, reached over loopback (MTU
// 64 KiB), or with -consumer other in a namespace of their own reached over
// a veth (MTU 1500), as a container is; senders and relays stay here.
//
// Latency: one association, a 100-byte message echoed back by the server,
// one at a time, for -latency; the 50th and 99th percentile round trips.
//
// It needs a kernel with SCTP; bench/run.sh (make bench) builds it and
// sctpguard and runs it in the test VM:
//
//	throughput -guard bin/sctpguard               # 5 sizes × 1 and 16 associations, 5 rounds (~7 minutes in the VM)
//	throughput -guard bin/sctpguard -quick        # 2 sizes, 2 rounds (~1.5 minutes): a smoke test
//	throughput -guard bin/sctpguard -md -         # also the table as markdown between marker lines
//	throughput -guard bin/sctpguard -syscalls     # and the relays' system calls per message (strace)
//	throughput -guard bin/sctpguard -consumer other  # the servers in another netns, over a veth
//
// Numbers printed come only from the run.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/sctpguard/sctpguard/bench/internal/proc"
	"github.com/sctpguard/sctpguard/bench/internal/report"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// settings are the command's flags.
type settings struct {
	sizes    []int
	assocs   []int
	dur      time.Duration // measured part of a throughput cell
	warm     time.Duration // before the measured part
	latency  time.Duration // ping-pong per path and round
	rounds   int
	rcvbuf   int    // the sink's SO_RCVBUF; 0: the kernel's default
	consumer string // where the servers are: sameNetns or otherNetns
	guard    string
	socat    string
	md       string
	timeout  time.Duration
	syscalls bool   // also count the relays' system calls per message
	strace   string // strace binary, for syscalls
}

func main() {
	s, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "throughput: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	os.Exit(run(ctx, s, os.Stdout, os.Stderr))
}

func parseFlags(args []string) (settings, error) {
	fs := flag.NewFlagSet("throughput", flag.ContinueOnError)
	var s settings
	sizes := fs.String("sizes", "1,100,1024,16384,65536", "message sizes in bytes, comma-separated")
	assocs := fs.String("assocs", "1,16", "association counts, comma-separated")
	quick := fs.Bool("quick", false, "smoke test: 100 B and 16 KiB messages, 2 rounds")
	fs.DurationVar(&s.dur, "dur", time.Second, "measured time of one throughput cell")
	fs.DurationVar(&s.warm, "warm", 500*time.Millisecond, "warm-up before a cell is measured")
	fs.DurationVar(&s.latency, "latency", time.Second, "ping-pong time per path and round")
	fs.IntVar(&s.rounds, "rounds", 5, "run every cell this many times, interleaved; the table shows medians")
	fs.IntVar(&s.rcvbuf, "rcvbuf", 0, "the throughput server's SO_RCVBUF in `bytes` (0: the kernel's default)")
	fs.StringVar(&s.consumer, "consumer", sameNetns, "where the servers are: same (this network namespace, over loopback) or other (a namespace of their own over a veth, MTU 1500, as a container)")
	fs.StringVar(&s.guard, "guard", "sctpguard", "sctpguard binary")
	fs.StringVar(&s.socat, "socat", "socat", "socat binary")
	fs.StringVar(&s.md, "md", "", "also write the table as markdown to this `file` (- frames it on stdout)")
	fs.DurationVar(&s.timeout, "timeout", 20*time.Minute, "end the whole run after this long")
	fs.BoolVar(&s.syscalls, "syscalls", false, "after the rounds, count socat's and sctpguard's system calls per relayed message in every cell (strace -c -f)")
	fs.StringVar(&s.strace, "strace", "strace", "strace binary, for -syscalls")
	if err := fs.Parse(args); err != nil {
		return s, err
	}
	if fs.NArg() > 0 {
		return s, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *quick { // the smoke test's settings, unless given explicitly
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["sizes"] {
			*sizes = "100,16384"
		}
		if !set["warm"] {
			s.warm = 300 * time.Millisecond
		}
		if !set["rounds"] {
			s.rounds = 2
		}
	}
	var err error
	if s.sizes, err = report.Counts("-sizes", *sizes, 1, sctpsock.DefaultMaxMessage); err != nil {
		return s, err
	}
	if s.assocs, err = report.Counts("-assocs", *assocs, 1, 256); err != nil {
		return s, err
	}
	if s.consumer != sameNetns && s.consumer != otherNetns {
		return s, fmt.Errorf("-consumer %q: want %s or %s", s.consumer, sameNetns, otherNetns)
	}
	if s.dur <= 0 || s.warm < 0 || s.latency <= 0 || s.rounds < 1 {
		return s, fmt.Errorf("-dur and -latency must be positive, -warm not negative, -rounds at least 1")
	}
	return s, nil
}

// run measures every cell and prints the table; it returns the exit status.
func run(ctx context.Context, s settings, stdout, stderr io.Writer) int {
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "throughput: "+format+"\n", args...) }
	if err := preflight(&s); err != nil {
		logf("%v", err)
		return 1
	}
	rig, err := setUp(ctx, s, logf)
	if err != nil {
		logf("%v", err)
		return 1
	}
	defer rig.tearDown()
	res := newResults()
	start := time.Now()
	for round := 1; round <= s.rounds && ctx.Err() == nil; round++ {
		rig.round(ctx, round, res)
	}
	if ctx.Err() != nil {
		logf("stopped early: %v", context.Cause(ctx))
	}
	t := buildTable(header(s), s, res)
	if s.syscalls && ctx.Err() == nil {
		t.syscalls = syscallRows(s, rig.syscallPass(ctx))
	}
	logf("measured in %s", time.Since(start).Round(time.Second))
	fmt.Fprintln(stdout)
	t.writeText(stdout)
	if s.md != "" {
		if err := t.writeMarkdownTo(s.md, stdout); err != nil {
			logf("%v", err)
			return 1
		}
	}
	if res.failed() || ctx.Err() != nil {
		return 1
	}
	return 0
}

// preflight checks, before anything starts, what every cell needs.
func preflight(s *settings) error {
	if err := sctpsock.Supported(); err != nil {
		return fmt.Errorf("%w (run through bench/run.sh, which uses the test VM)", err)
	}
	var err error
	if s.guard, err = exec.LookPath(s.guard); err != nil {
		return fmt.Errorf("sctpguard binary: %w (pass -guard)", err)
	}
	if s.socat, err = exec.LookPath(s.socat); err != nil {
		return fmt.Errorf("socat binary: %w (apt-get install socat, or pass -socat)", err)
	}
	if s.syscalls {
		if s.strace, err = exec.LookPath(s.strace); err != nil {
			return fmt.Errorf("-syscalls: strace binary: %w (apt-get install strace, or pass -strace)", err)
		}
	}
	if _, err := proc.ReadStat(os.Getpid()); err != nil {
		return fmt.Errorf("read CPU time: %w", err)
	}
	return nil
}

// header is the table's title line: what was measured and where.
func header(s settings) string {
	var u syscall.Utsname
	release := "?"
	if syscall.Uname(&u) == nil {
		release = utsString(u.Release[:])
	}
	where := "native"
	if os.Getenv("SCTPGUARD_RIG_GUEST") == "1" {
		where = "VM"
	}
	med := ""
	if s.rounds > 1 {
		med = fmt.Sprintf(", medians of %d rounds", s.rounds)
	}
	servers := "servers on loopback"
	if s.consumer == otherNetns {
		servers = "servers in another netns over a veth"
	}
	return fmt.Sprintf("relay cost: SCTP_NODELAY, %s, %v per throughput cell after %v warm-up, %v ping-pong%s (Linux %s, %s, %d CPUs)",
		servers, s.dur, s.warm, s.latency, med, release, where, runtime.NumCPU())
}

func utsString(b []int8) string {
	var sb strings.Builder
	for _, c := range b {
		if c == 0 {
			break
		}
		sb.WriteByte(byte(c))
	}
	return sb.String()
}
