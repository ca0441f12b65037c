package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sctpguard/sctpguard/bench/internal/proc"
)

// The system-call count (-syscalls): after the rounds, every throughput cell
// runs once more through socat and through sctpguard with strace -c -f
// attached to every process of the relay for the measured time. The calls
// strace counted, over the messages the server read meanwhile, are the
// relay's system calls per relayed message. strace stops the relay at every
// call, so the rates of this pass are not the table's, and a relay slowed
// down may find more queued at each wake-up than it would at full speed: read
// the counts as what each relay does per message, not as a rate.

// callCounts is one relay's system calls per relayed message in one cell.
type callCounts struct {
	perMsg map[string]float64 // by system call
	total  float64
	msgs   int64 // messages relayed while counted
	err    error
}

// syscallPass counts, for every cell, the system calls of socat and of
// sctpguard per relayed message.
func (b *bench) syscallPass(ctx context.Context) map[key]map[string]callCounts {
	b.logf("system calls per message (strace -c -f)")
	out := map[key]map[string]callCounts{}
	for _, size := range b.s.sizes {
		for _, assocs := range b.s.assocs {
			k := key{size, assocs}
			out[k] = map[string]callCounts{}
			for _, p := range b.paths {
				if p.relay == nil || ctx.Err() != nil {
					continue
				}
				var cc callCounts
				smp := b.runCell(ctx, p, size, assocs, func(ctx context.Context, p path, t *tally, size int) (sample, error) {
					cc = b.countCalls(ctx, p, t, size)
					return sample{}, cc.err
				})
				if cc.err == nil {
					cc.err = smp.err
				}
				out[k][p.name] = cc
				b.logf("  %s × %d %s: %s", sizeName(size), assocs, p.name, cc.describe())
			}
		}
	}
	return out
}

// countCalls attaches strace to the relay's processes after the warm-up,
// for the cell's measured time.
func (b *bench) countCalls(ctx context.Context, p path, t *tally, size int) callCounts {
	if !sleep(ctx, b.s.warm) {
		return callCounts{err: ctx.Err()}
	}
	pids, err := proc.Group(p.relay.Pid())
	if err != nil {
		return callCounts{err: err}
	}
	out := filepath.Join(b.dir, "strace-"+p.name+".txt")
	args := []string{"-c", "-f", "-q", "-o", out}
	for _, pid := range pids {
		args = append(args, "-p", strconv.Itoa(pid))
	}
	cmd := exec.Command(b.s.strace, args...)
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return callCounts{err: fmt.Errorf("strace: %w", err)}
	}
	// strace attaches to the threads one by one, which takes a while in an
	// emulated VM: messages count from when it traces them all.
	if err := waitTraced(ctx, pids); err != nil {
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
		return callCounts{err: err}
	}
	msgs0, bytes0 := t.msgs.Load(), t.bytes.Load()
	sleep(ctx, b.s.dur)
	msgs, bytes := t.msgs.Load()-msgs0, t.bytes.Load()-bytes0
	cmd.Process.Signal(syscall.SIGINT)
	werr := cmd.Wait()
	if p.bytesOnly {
		msgs = bytes / int64(size)
	}
	calls, err := readStraceSummary(out)
	if err != nil {
		return callCounts{err: fmt.Errorf("strace (%v): %w", werr, err)}
	}
	return perMessage(calls, msgs)
}

// waitTraced waits until strace traces every thread of pids, at most
// traceAttach.
func waitTraced(ctx context.Context, pids []int) error {
	deadline := time.Now().Add(traceAttach)
	for {
		ok, err := proc.Traced(pids)
		if err != nil {
			return fmt.Errorf("strace: %w", err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("strace: not tracing every thread of %v after %v", pids, traceAttach)
		}
		if !sleep(ctx, 10*time.Millisecond) {
			return ctx.Err()
		}
	}
}

// traceAttach bounds how long strace may take to attach.
const traceAttach = 10 * time.Second

// perMessage divides the counts by the messages relayed.
func perMessage(calls map[string]int64, msgs int64) callCounts {
	cc := callCounts{perMsg: map[string]float64{}, msgs: msgs}
	if msgs == 0 {
		cc.err = fmt.Errorf("no message relayed while counted")
		return cc
	}
	for name, n := range calls {
		cc.perMsg[name] = float64(n) / float64(msgs)
		cc.total += cc.perMsg[name]
	}
	return cc
}

// readStraceSummary parses the table strace -c writes: a header, a dashed
// line, one row per system call ("% time, seconds, usecs/call, calls,
// [errors,] syscall") and, after another dashed line, the total.
func readStraceSummary(path string) (map[string]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseStraceSummary(f)
}

func parseStraceSummary(r io.Reader) (map[string]int64, error) {
	calls := map[string]int64{}
	dashes := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "------") {
			dashes++
			continue
		}
		if dashes != 1 || line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 5 {
			return nil, fmt.Errorf("strace summary: row %q", line)
		}
		n, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("strace summary: calls in row %q: %w", line, err)
		}
		calls[f[len(f)-1]] += n
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if dashes == 0 {
		return nil, fmt.Errorf("strace summary: no table")
	}
	return calls, nil
}

// top is the n most frequent system calls, as "name count".
func (cc callCounts) top(n int) string {
	names := make([]string, 0, len(cc.perMsg))
	for name := range cc.perMsg {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		if cc.perMsg[a] != cc.perMsg[b] {
			if cc.perMsg[a] > cc.perMsg[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for _, name := range names[:min(n, len(names))] {
		parts = append(parts, fmt.Sprintf("%s %s", name, fmtCalls(cc.perMsg[name])))
	}
	return strings.Join(parts, ", ")
}

func (cc callCounts) describe() string {
	if cc.err != nil {
		return "error: " + cc.err.Error()
	}
	return fmt.Sprintf("%s calls per message over %d messages (%s)", fmtCalls(cc.total), cc.msgs, cc.top(4))
}

func fmtCalls(v float64) string {
	if v >= 10 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

var syscallColumns = []string{"size", "assocs", "socat calls/msg", "sctpguard calls/msg", "vs socat", "sctpguard's most frequent, per message", "socat's"}

// syscallRows is the pass as table rows, in the cells' order.
func syscallRows(s settings, res map[key]map[string]callCounts) [][]string {
	var rows [][]string
	for _, size := range s.sizes {
		for _, assocs := range s.assocs {
			so, sg := res[key{size, assocs}][socat], res[key{size, assocs}][guard]
			fig := func(cc callCounts) string {
				if cc.err != nil || cc.perMsg == nil {
					return "-"
				}
				return fmtCalls(cc.total)
			}
			ratio := "-"
			if so.err == nil && sg.err == nil && so.total > 0 && sg.total > 0 {
				ratio = fmt.Sprintf("%.2fx", sg.total/so.total)
			}
			rows = append(rows, []string{sizeName(size), strconv.Itoa(assocs), fig(so), fig(sg), ratio, sg.top(4), so.top(3)})
		}
	}
	return rows
}

const syscallTitle = "system calls per relayed message (strace -c -f on the relay during the measured time; its own pass, slowed by strace)"

func writeSyscallText(w io.Writer, rows [][]string) {
	fmt.Fprintln(w, syscallTitle)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range append([][]string{syscallColumns}, rows...) {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

func syscallMarkdown(rows [][]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s:\n\n| %s |\n|---|--:|--:|--:|--:|---|---|\n", syscallTitle, strings.Join(syscallColumns, " | "))
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s |\n", strings.Join(r, " | "))
	}
	return b.String()
}
