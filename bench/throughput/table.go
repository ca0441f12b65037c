package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sctpguard/sctpguard/bench/internal/report"
)

var columns = []string{"measure", "size", "assocs", "direct", "socat", "vs direct", "sctpguard", "vs direct", "vs socat"}

// table is the printed result: one row per measure and cell, the three
// paths side by side with their ratios, then notes and the issue-5 targets.
type table struct {
	header   string
	rows     [][]string
	notes    []string
	targets  []string
	errs     []string
	syscalls [][]string // rows of the system-call count, if it ran
}

// figures is one measure of one cell on the three paths; a path without
// the figure has ok false.
type figures struct {
	measure, size, assocs string
	v                     [3]float64 // direct, socat, sctpguard
	ok                    [3]bool
	format                func(float64) string
	mark                  [3]string // appended to a figure, for a footnote
}

func (f figures) cells() []string {
	fig := func(i int) string {
		if !f.ok[i] {
			return "-"
		}
		return f.format(f.v[i]) + f.mark[i]
	}
	ratio := func(i, base int) string {
		if !f.ok[i] || !f.ok[base] || f.v[base] == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2fx", f.v[i]/f.v[base])
	}
	return []string{f.measure, f.size, f.assocs,
		fig(0), fig(1), ratio(1, 0), fig(2), ratio(2, 0), ratio(2, 1)}
}

// ratio is sctpguard's figure over the path i's, if both were measured.
func (f figures) ratio(i int) (float64, bool) {
	if !f.ok[2] || !f.ok[i] || f.v[i] == 0 {
		return 0, false
	}
	return f.v[2] / f.v[i], true
}

func buildTable(header string, s settings, res *results) *table {
	t := &table{header: header, errs: res.errs}
	tg := &targets{}
	var socatReads, timeouts []string
	var spreads []spread
	for _, size := range s.sizes {
		for _, assocs := range s.assocs {
			k := key{size, assocs}
			msgs, mb, cpu := throughputFigures(res, k)
			t.add(msgs, mb, cpu)
			tg.throughput(msgs, size)
			tg.cpu(cpu)
			if m, ok := res.median(k, socat); ok && m.reads > 0 {
				socatReads = append(socatReads, fmt.Sprintf("%s × %d: %s B", sizeName(size), assocs, fmtCount(m.bytes/m.reads)))
			}
			if l := timeoutsLine(res, k); l != "" {
				timeouts = append(timeouts, l)
			}
			for _, name := range []string{direct, socat, guard} {
				if r, ok := res.spread(k, name); ok {
					spreads = append(spreads, spread{r, fmt.Sprintf("%s %s × %d", name, sizeName(size), assocs)})
				}
			}
		}
	}
	p50, p99 := latencyFigures(res, 50), latencyFigures(res, 99)
	t.add(p50, p99)
	tg.latency(p50)
	t.addNotes(socatReads, timeouts, spreads, s.rounds)
	t.targets = tg.lines()
	return t
}

// addNotes explains the table: the ratios, socat's figures, the CPU and
// latency measures, and what may have bound or disturbed the figures.
func (t *table) addNotes(socatReads, timeouts []string, spreads []spread, rounds int) {
	t.notes = append(t.notes,
		"vs: the ratio of the two figures (for CPU and round trips, lower is better).",
		"* socat relays bytes, not messages: it merges small messages and splits large ones at its 8 KiB buffer, so its msg/s is bytes received / message size.")
	if len(socatReads) > 0 {
		t.notes = append(t.notes, "  mean size of the messages the server read from socat: "+strings.Join(socatReads, ", "))
	}
	t.notes = append(t.notes, fmt.Sprintf("relay CPU: user+system time of the relay process (socat: with its forked children) per million messages relayed, in seconds; RTT: %d B ping-pong, one association.", latencySize))
	if len(timeouts) > 0 {
		t.notes = append(t.notes, "retransmission timeouts while measured, with the DATA chunks receivers discarded (SctpT3RtxExpireds, SctpInDataChunkDiscards; all rounds; such a cell is bound by the kernel's timer): "+strings.Join(timeouts, "; "))
	}
	if l := spreadLine(spreads, rounds); l != "" {
		t.notes = append(t.notes, l)
	}
}

// timeoutsLine names the paths of cell k that saw retransmission
// timeouts, or is empty.
func timeoutsLine(res *results, k key) string {
	var parts []string
	for _, name := range []string{direct, socat, guard} {
		if m, ok := res.median(k, name); ok && m.t3 > 0 {
			parts = append(parts, fmt.Sprintf("%s %d (%d discarded)", name, m.t3, m.discard))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("%s × %d: %s", sizeName(k.size), k.assocs, strings.Join(parts, ", "))
}

// spread is how far the rounds of one cell and path disagree: the largest
// msg/s over the smallest.
type spread struct {
	ratio float64
	where string
}

// spreadLine says how much the rounds disagree: the median and the worst
// spread over every cell and path.
func spreadLine(sp []spread, rounds int) string {
	if len(sp) == 0 {
		return ""
	}
	slices.SortFunc(sp, func(a, b spread) int { return cmp.Compare(a.ratio, b.ratio) })
	worst := sp[len(sp)-1]
	return fmt.Sprintf("noise: over the %d rounds a cell's largest msg/s is %.2fx its smallest in the median cell, %.2fx at worst (%s)",
		rounds, sp[len(sp)/2].ratio, worst.ratio, worst.where)
}

func (t *table) add(fs ...figures) {
	for _, f := range fs {
		t.rows = append(t.rows, f.cells())
	}
}

// throughputFigures are the msg/s, MB/s and relay CPU rows of a cell.
func throughputFigures(res *results, k key) (msgs, mb, cpu figures) {
	size, assocs := sizeName(k.size), strconv.Itoa(k.assocs)
	msgs = figures{measure: "msg/s", size: size, assocs: assocs, format: fmtCount}
	mb = figures{measure: "MB/s", size: size, assocs: assocs, format: func(v float64) string { return fmtMB(v) }}
	cpu = figures{measure: "relay CPU per 1M msgs", size: size, assocs: assocs,
		format: func(v float64) string { return fmtCPU(time.Duration(v)) }}
	msgs.mark[1] = "*"
	for i, name := range []string{direct, socat, guard} {
		m, ok := res.median(k, name)
		msgs.v[i], msgs.ok[i] = m.msgs, ok
		mb.v[i], mb.ok[i] = m.bytes, ok
		cpu.v[i], cpu.ok[i] = float64(m.cpuPerM), ok && m.hasCPU
	}
	return msgs, mb, cpu
}

// latencyFigures is the p-th percentile round trip of every path.
func latencyFigures(res *results, p float64) figures {
	f := figures{measure: fmt.Sprintf("RTT p%g", p), size: sizeName(latencySize), assocs: "1",
		format: func(v float64) string { return fmtRTT(time.Duration(v)) }}
	for i, name := range []string{direct, socat, guard} {
		d, ok := res.percentile(name, p)
		f.v[i], f.ok[i] = float64(d), ok
	}
	return f
}

// targets checks the figures against issue 5's goals for sctpguard.
type targets struct {
	small, large, vsDirect, cpuT, p50 check
}

// check is one goal: how many cells meet it, and the worst ratio.
type check struct {
	met, total int
	worst      float64
	where      string
}

// record counts a ratio against a goal of at least min (or at most max,
// when max is set).
func (c *check) record(r, limit float64, atMost bool, where string) {
	c.total++
	ok := r >= limit
	bad := c.total == 1 || r < c.worst
	if atMost {
		ok = r <= limit
		bad = c.total == 1 || r > c.worst
	}
	if ok {
		c.met++
	}
	if bad {
		c.worst, c.where = r, where
	}
}

func (c check) line(goal string) string {
	if c.total == 0 {
		return ""
	}
	verdict := "met"
	if c.met < c.total {
		verdict = "MISSED"
	}
	return fmt.Sprintf("%-44s %-6s %d of %d cells meet it (worst %.2fx at %s)", goal, verdict+":", c.met, c.total, c.worst, c.where)
}

func (tg *targets) throughput(f figures, size int) {
	where := f.size + " × " + f.assocs
	if r, ok := f.ratio(1); ok {
		if size <= 1024 {
			tg.small.record(r, 1.2, false, where)
		} else {
			tg.large.record(r, 1.0, false, where)
		}
	}
	if r, ok := f.ratio(0); ok {
		tg.vsDirect.record(r, 0.45, false, where)
	}
}

func (tg *targets) cpu(f figures) {
	if r, ok := f.ratio(1); ok {
		tg.cpuT.record(r, 0.8, true, f.size+" × "+f.assocs)
	}
}

func (tg *targets) latency(f figures) {
	if r, ok := f.ratio(1); ok {
		tg.p50.record(r, 1.0, true, "ping-pong")
	}
}

func (tg *targets) lines() []string {
	var out []string
	for _, l := range []string{
		tg.small.line("throughput >= 1.2x socat, messages <= 1 KiB"),
		tg.large.line("throughput >= 1.0x socat, messages > 1 KiB"),
		tg.vsDirect.line("throughput >= 0.45x direct"),
		tg.cpuT.line("relay CPU per message <= 0.8x socat"),
		tg.p50.line("RTT p50 <= socat's"),
	} {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (t *table) writeText(w io.Writer) {
	fmt.Fprintln(w, t.header)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range append([][]string{columns}, t.rows...) {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
	for _, n := range t.notes {
		fmt.Fprintln(w, n)
	}
	if len(t.targets) > 0 {
		fmt.Fprintln(w, "issue 5 targets for sctpguard:")
		for _, l := range t.targets {
			fmt.Fprintln(w, "  "+l)
		}
	}
	if t.syscalls != nil {
		fmt.Fprintln(w)
		writeSyscallText(w, t.syscalls)
	}
	for _, e := range t.errs {
		fmt.Fprintln(w, "error: "+e)
	}
}

func (t *table) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", t.header)
	fmt.Fprintf(&b, "| %s |\n|%s\n", strings.Join(columns, " | "), "---|---|--:|"+strings.Repeat("--:|", len(columns)-3))
	for _, r := range t.rows {
		c := make([]string, len(r))
		for i := range r {
			c[i] = strings.NewReplacer("|", `\|`, "*", `\*`).Replace(r[i])
		}
		fmt.Fprintf(&b, "| %s |\n", strings.Join(c, " | "))
	}
	b.WriteString("\n")
	for _, n := range t.notes {
		fmt.Fprintf(&b, "%s  \n", strings.ReplaceAll(strings.TrimSpace(n), "*", `\*`))
	}
	if len(t.targets) > 0 {
		b.WriteString("\nTargets for sctpguard:\n\n")
		for _, l := range t.targets {
			fmt.Fprintf(&b, "- %s\n", strings.Join(strings.Fields(l), " "))
		}
	}
	if t.syscalls != nil {
		b.WriteString(syscallMarkdown(t.syscalls))
	}
	for _, e := range t.errs {
		fmt.Fprintf(&b, "\nerror: %s  ", e)
	}
	return b.String()
}

// writeMarkdownTo writes the markdown table to path, or between markers to
// stdout when path is "-".
func (t *table) writeMarkdownTo(path string, stdout io.Writer) error {
	return report.WriteMarkdown("throughput", path, t.markdown(), stdout)
}

func sizeName(n int) string { return report.SizeName(n) }

// fmtCount is v rounded, with thousands separators.
func fmtCount(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// fmtMB is bytes per second as megabytes (10^6) per second, to three
// significant digits or so.
func fmtMB(v float64) string {
	mb := v / 1e6
	switch {
	case mb < 0.1:
		return fmt.Sprintf("%.4f", mb)
	case mb < 10:
		return fmt.Sprintf("%.2f", mb)
	case mb < 100:
		return fmt.Sprintf("%.1f", mb)
	}
	return fmt.Sprintf("%.0f", mb)
}

func fmtCPU(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func fmtRTT(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%d µs", d.Microseconds())
	}
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}
