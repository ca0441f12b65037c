package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
)

var columns = []string{"receiver netns", "path", "assocs", "msgs/assoc", "host memory used", "per assoc", "flood per assoc", "vs direct", "kernel slab", "senders' send queues", "relay anon idle → flooded", "relay CPU blocked", "stopped"}

// cells is the table's row for r; direct is the direct row of the same
// association count, if any.
func cells(r, direct *row) []string {
	c := []string{r.receiver, r.path, strconv.Itoa(r.assocs)}
	switch {
	case r.skipped != "":
		return append(c, "-", "-", "-", "-", "-", "-", "-", "-", "-", "skipped: "+r.skipped)
	case r.err != nil:
		return append(c, "-", "-", "-", "-", "-", "-", "-", "-", "-", "error: "+firstLine(r.err.Error()))
	}
	vs := "-"
	if direct != nil && direct.err == nil && direct.skipped == "" && direct.used > 0 {
		vs = fmt.Sprintf("%.2fx", float64(r.used)/float64(direct.used))
	}
	msgs := count(mean(r.accepted))
	if lo, hi := minMax(r.accepted); hi-lo > hi/20 {
		msgs += fmt.Sprintf(" (%s-%s)", count(lo), count(hi))
	}
	stopped := r.stopped
	if len(r.notes) > 0 {
		stopped += "; " + strings.Join(r.notes, "; ")
	}
	rss := "-"
	if r.relayRSS > 0 {
		rss = mb(r.idleRSS) + " → " + mb(r.relayRSS)
	}
	cpu := "-"
	if r.relayCPU >= 0 {
		cpu = fmt.Sprintf("%.1f%%", 100*r.relayCPU)
	}
	flood := mb((r.used - r.setup) / int64(r.assocs))
	return append(c, msgs, mb(r.used), mb(r.used/int64(r.assocs)), flood, vs, mb(r.slab), mb(r.queued), rss, cpu, stopped)
}

func directFor(rows []*row, r *row) *row {
	for _, d := range rows {
		if d.path == "direct" && d.assocs == r.assocs && d.receiver == r.receiver {
			return d
		}
	}
	return nil
}

// resumeLines are the outcomes of reading back, one line per sctpguard row.
func resumeLines(rows []*row) []string {
	var out []string
	for _, r := range rows {
		if r.resume == nil {
			continue
		}
		head := fmt.Sprintf("resume (%s, receiver in the %s netns, %d assocs): ", r.path, r.receiver, r.assocs)
		if r.resume.err != nil {
			out = append(out, head+fmt.Sprintf("FAILED after %s messages: %v", count(r.resume.msgs), strings.ReplaceAll(r.resume.err.Error(), "\n", "; ")))
			continue
		}
		out = append(out, head+fmt.Sprintf("%s messages delivered exactly once, in order, in %.1f s; longest wait between two messages %.2f s",
			count(r.resume.msgs), r.resume.took.Seconds(), r.resume.gap.Seconds()))
	}
	return out
}

// quotaLines say, for each sctpguard row, what its flood took beyond the
// senders' own send queues (which no relay can shrink), against the global
// quota that bounds the relay.
func quotaLines(rows []*row, global int64) []string {
	var out []string
	for _, r := range rows {
		if r.path != "sctpguard" || r.err != nil || r.skipped != "" {
			continue
		}
		out = append(out, fmt.Sprintf("sctpguard, receiver in the %s netns, %d assocs: the flood took %s beyond the senders' own send queues (%s); global quota %s",
			r.receiver, r.assocs, mb(r.used-r.setup-r.queued), mb(r.queued), mb(global)))
	}
	return out
}

// marginalLine is the flood's cost of one more association per path: the
// difference between its rows with the fewest and the most associations, divided
// by the associations added. What the processes cost whatever the count (a relay's
// runtime and buffers) falls out of it; "" with fewer than two counts.
func marginalLine(rows []*row) string {
	var parts []string
	var span string
	for _, name := range []string{"direct", "socat", "sctpguard"} {
		var lo, hi *row
		for _, r := range rows {
			if r.path != name || r.err != nil || r.skipped != "" {
				continue
			}
			if lo == nil || r.assocs < lo.assocs {
				lo = r
			}
			if hi == nil || r.assocs > hi.assocs {
				hi = r
			}
		}
		if lo == nil || lo == hi {
			continue
		}
		per := ((hi.used - hi.setup) - (lo.used - lo.setup)) / int64(hi.assocs-lo.assocs)
		parts = append(parts, fmt.Sprintf("%s %s", name, mb(per)))
		span = fmt.Sprintf("%d → %d", lo.assocs, hi.assocs)
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("flood cost of one more association (%s associations): %s", span, strings.Join(parts, ", "))
}

func writeText(w io.Writer, header string, rows []*row, global int64) {
	fmt.Fprintln(w, header)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(columns, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(cells(r, directFor(rows, r)), "\t"))
	}
	tw.Flush()
	if l := marginalLine(rows); l != "" {
		fmt.Fprintln(w, l)
	}
	for _, l := range append(quotaLines(rows, global), resumeLines(rows)...) {
		fmt.Fprintln(w, l)
	}
}

// markers are the lines around the markdown table when it goes to stdout,
// for bench/run.sh: table is the section's name (-table).
func markers(table string) (begin, end string) {
	return "<!-- " + table + " benchmark: begin -->", "<!-- " + table + " benchmark: end -->"
}

func markdown(header string, rows []*row, global int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", header)
	fmt.Fprintf(&b, "| %s |\n|%s\n", strings.Join(columns, " | "), strings.Repeat("---|", len(columns)))
	for _, r := range rows {
		c := cells(r, directFor(rows, r))
		for i := range c {
			c[i] = strings.ReplaceAll(c[i], "|", `\|`)
		}
		fmt.Fprintf(&b, "| %s |\n", strings.Join(c, " | "))
	}
	if l := marginalLine(rows); l != "" {
		fmt.Fprintf(&b, "\n%s  \n", l)
	}
	if lines := append(quotaLines(rows, global), resumeLines(rows)...); len(lines) > 0 {
		b.WriteString("\n")
		for _, l := range lines {
			fmt.Fprintf(&b, "%s  \n", l)
		}
	}
	return b.String()
}

// writeMarkdownTo writes the markdown table to path, or between markers to
// stdout when path is "-".
func writeMarkdownTo(path, table string, stdout io.Writer, header string, rows []*row, global int64) error {
	md := markdown(header, rows, global)
	if path == "-" {
		begin, end := markers(table)
		_, err := fmt.Fprintf(stdout, "\n%s\n%s%s\n", begin, md, end)
		return err
	}
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		return fmt.Errorf("write markdown: %w", err)
	}
	return nil
}

// mb formats bytes as decimal megabytes (gigabytes from 1 GB).
func mb(n int64) string {
	if abs(n) >= 1e9 {
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

// count formats n with thousands separators.
func count(n int64) string {
	s := strconv.FormatInt(abs(n), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if n < 0 {
		return "-" + s
	}
	return s
}

func mean(v []int64) int64 {
	if len(v) == 0 {
		return 0
	}
	var sum int64
	for _, x := range v {
		sum += x
	}
	return (sum + int64(len(v))/2) / int64(len(v))
}

func minMax(v []int64) (lo, hi int64) {
	for i, x := range v {
		if i == 0 || x < lo {
			lo = x
		}
		if i == 0 || x > hi {
			hi = x
		}
	}
	return lo, hi
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
