// Command seed measures the seed scenario of sctpguard: what a flood of
// 1-byte SCTP messages toward a receiver that has stopped reading costs the
// host, sent directly, through socat and through sctpguard, side by side in
// one run.
//
// The scenario (Red Hat bug 146797, still alive on Linux 6.1): a receiver on
// this host accepts associations on a listener with SO_RCVBUF = 8 MiB (set
// before accept, since the receive window is fixed at association set-up)
// and never reads. For each association a sender on default buffers, with
// SCTP_NODELAY, writes 1-byte messages as fast as the kernel takes them,
// until every sender is blocked (no progress for -stall) or a cap is hit.
// The kernel charges each message a whole socket buffer, far more than the
// byte of payload the receive window counts, so memory piles up.
//
// Host memory used is the drop of MemAvailable (/proc/meminfo) from a
// baseline taken before the receiver, the relay and the associations exist
// to the plateau once every sender is blocked: it counts the kernel's queues
// on both sides and the relay process itself. "flood per assoc" leaves out
// what was taken before the first message (the processes and the idle
// associations, read at a second baseline once all are connected): what the
// flood itself costs, per association. Two columns say where it went:
// the growth of the kernel's slab (every SCTP queue on the path, the senders'
// own send queues included) and the resident anonymous memory of the relay's
// processes before and during the flood (RssAnon: heap and stacks, not the
// binary's pages, which the page cache shares). Caches are dropped
// before each reading and the host must recover between rows, so rows do not
// pollute each other. Each row is one path and one association count:
//
//	direct     sender ──SCTP──▶ receiver
//	socat      sender ──SCTP──▶ socat (byte relay, nodelay both legs) ──SCTP──▶ receiver
//	sctpguard  sender ──SCTP──▶ sctpguard (association quota 1MiB, global -global, 16MiB) ──SCTP──▶ receiver
//
// While every sender is blocked, the relay's CPU is measured over -cpu, as a
// share of one core: a relay holding back a stalled flood must not spin. Beside
// it, what the senders' own send queues hold, which no relay can shrink.
//
// In the direct and sctpguard rows the receiver then resumes reading
// everything: every message must arrive exactly once and in order (a 1-byte
// payload cannot carry a counter, so each message's PPID is its sender's number
// in the top 12 bits and its sequence number below), and the time to drain and
// the longest wait between two messages of one association are reported. That
// wait is how long a sender took to learn that the window had opened again:
// Linux announces a reopened window only once it grew by max(rcvbuf/16, PMTU),
// so after small messages the sender learns it from its zero-window probe, on
// its retransmission timer, directly as through a relay.
//
// -table names the markdown section: make bench prints "seed" (4 and 16
// associations) and "stalled" (1,000 associations through sctpguard alone).
//
// It needs a kernel with SCTP and root (to drop caches); bench/run.sh (make
// bench) builds it and sctpguard and runs it in the test VM:
//
//	seed -guard bin/sctpguard                 # 4 and 16 associations
//	seed -guard bin/sctpguard -quick          # 2 associations, short caps: a smoke test
//	seed -guard bin/sctpguard -md bench.md    # also write the table as markdown
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
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// settings are the command's flags.
type settings struct {
	assocs       []int
	paths        []string // names of the paths measured
	receivers    []string // where the receiver is: sameNetns, otherNetns
	pprof        string   // heap profile file prefix, or ""
	msgCap       int64
	timeCap      time.Duration
	stall        time.Duration
	drainTimeout time.Duration
	memFloor     int64
	guard        string
	socat        string
	md           string
	resume       bool
	cpuWindow    time.Duration
	global       int64 // sctpguard's global quota, bytes
	table        string
	status       bool
	timeout      time.Duration
}

func main() {
	s, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "seed: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	os.Exit(run(ctx, s, os.Stdout, os.Stderr))
}

func parseFlags(args []string) (settings, error) {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	var s settings
	assocs := fs.String("assocs", "4,16", "association counts, comma-separated; each gets a row per path")
	pathList := fs.String("paths", "direct,socat,sctpguard", "paths measured, comma-separated: direct, socat, sctpguard")
	receivers := fs.String("receivers", "same,other", "where the receiver is, comma-separated: same (sctpguard's network namespace) or other (its own, over a veth, as a container)")
	quick := fs.Bool("quick", false, "smoke test: 2 associations, at most 20,000 messages or 20s each")
	fs.Int64Var(&s.msgCap, "msgs", 200_000, "most messages a sender sends")
	fs.DurationVar(&s.timeCap, "cap", 150*time.Second, "longest flood of one row")
	fs.DurationVar(&s.stall, "stall", 2*time.Second, "a sender without progress this long is blocked")
	fs.DurationVar(&s.drainTimeout, "drain", 4*time.Minute, "longest the receiver may take to read everything back")
	global := fs.Int64("global", 16, "sctpguard's global quota in `MiB` (every association takes its reserves from it, 64 KiB each way: 1,000 need 160)")
	floor := fs.Int("floor", 384, "stop a flood when MemAvailable falls below this many `MiB`")
	fs.StringVar(&s.guard, "guard", "sctpguard", "sctpguard binary")
	fs.StringVar(&s.socat, "socat", "socat", "socat binary")
	fs.StringVar(&s.md, "md", "", "also write the table as markdown to this `file` (- frames it on stdout)")
	fs.BoolVar(&s.resume, "resume", true, "in direct and sctpguard rows, read everything back and check it")
	fs.DurationVar(&s.cpuWindow, "cpu", 5*time.Second, "how long the relay's CPU is measured once every sender is blocked")
	fs.StringVar(&s.table, "table", "seed", "name of the markdown section printed with -md - (for bench/run.sh)")
	fs.BoolVar(&s.status, "status", true, "print sctpguard status at the plateau of its largest row")
	fs.StringVar(&s.pprof, "pprof", "", "write sctpguard's heap profile at the plateau of each of its rows to `prefix`-N (N associations), and its CPU profile over the -cpu window to prefix-N.cpu")
	fs.DurationVar(&s.timeout, "timeout", 25*time.Minute, "end the whole run after this long")
	if err := fs.Parse(args); err != nil {
		return s, err
	}
	if fs.NArg() > 0 {
		return s, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	s.memFloor = int64(*floor) << 20
	if *global < 1 {
		return s, fmt.Errorf("-global: %d MiB is not a quota", *global)
	}
	s.global = *global << 20
	if *quick {
		*assocs, s.msgCap, s.timeCap, s.drainTimeout = "2", 20_000, 20*time.Second, time.Minute
	}
	for _, p := range strings.Split(*pathList, ",") {
		if p = strings.TrimSpace(p); !slices.Contains([]string{"direct", "socat", "sctpguard"}, p) {
			return s, fmt.Errorf("-paths: %q is not direct, socat or sctpguard", p)
		}
		s.paths = append(s.paths, p)
	}
	for _, w := range strings.Split(*receivers, ",") {
		if w = strings.TrimSpace(w); w != sameNetns && w != otherNetns {
			return s, fmt.Errorf("-receivers: %q is not same or other", w)
		}
		s.receivers = append(s.receivers, w)
	}
	for _, f := range strings.Split(*assocs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > maxAssocs {
			return s, fmt.Errorf("-assocs: %q is not a count from 1 to %d", f, maxAssocs)
		}
		s.assocs = append(s.assocs, n)
	}
	if s.msgCap < 1 || s.msgCap > maxSeq {
		return s, fmt.Errorf("-msgs: %d is not from 1 to %d (the PPID holds the sequence number in %d bits)", s.msgCap, maxSeq, seqBits)
	}
	return s, nil
}

// run measures every row and prints the table; it returns the exit status.
func run(ctx context.Context, s settings, stdout, stderr io.Writer) int {
	if err := preflight(&s); err != nil {
		fmt.Fprintf(stderr, "seed: %v\n", err)
		return 1
	}
	b := &bench{s: s, log: stderr}
	b.header = header()
	fmt.Fprintln(stderr, b.header)
	var rows []*row
	for _, where := range s.receivers {
		for _, n := range s.assocs {
			for _, p := range paths(s) {
				if ctx.Err() != nil {
					break
				}
				rows = append(rows, b.runRow(ctx, p, n, where, rows))
			}
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintf(stderr, "seed: stopped early: %v\n", context.Cause(ctx))
	}
	fmt.Fprintln(stdout)
	writeText(stdout, b.header, rows, s.global)
	if b.status != "" {
		fmt.Fprintf(stdout, "\nsctpguard status at the plateau (%d associations):\n%s", b.statusAssocs, b.status)
	}
	if s.md != "" {
		if err := writeMarkdownTo(s.md, s.table, stdout, b.header, rows, s.global); err != nil {
			fmt.Fprintf(stderr, "seed: %v\n", err)
			return 1
		}
	}
	for _, r := range rows {
		if r.failed() {
			return 1
		}
	}
	if ctx.Err() != nil {
		return 1
	}
	return 0
}

// preflight checks, before anything starts, what every row needs.
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
	if _, err := memAvailable(); err != nil {
		return err
	}
	return nil
}

// header is the table's title line: the scenario and where it ran.
func header() string {
	var u syscall.Utsname
	release := "?"
	if syscall.Uname(&u) == nil {
		release = utsString(u.Release[:])
	}
	where := "native"
	if os.Getenv("SCTPGUARD_RIG_GUEST") == "1" {
		where = "VM"
	}
	total, _ := memTotal()
	return fmt.Sprintf("seed scenario: 1-byte messages, SCTP_NODELAY, receiver SO_RCVBUF=8MiB not reading (Linux %s, %s, %d CPUs, %.1f GiB)",
		release, where, runtime.NumCPU(), float64(total)/(1<<30))
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
