package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/sctpguard/sctpguard/bench/internal/report"
)

// key names a cell: message size and associations.
type key struct{ size, par int }

// sample is one iperf3 run's result.
type sample struct {
	bps float64
	err error
}

// results holds every round's samples, by cell and path.
type results map[key]map[string][]sample

func (r results) add(k key, name string, s sample) {
	if r[k] == nil {
		r[k] = map[string][]sample{}
	}
	r[k][name] = append(r[k][name], s)
}

// median is the median of the runs without an error.
func (r results) median(k key, name string) (float64, bool) {
	var v []float64
	for _, s := range r[k][name] {
		if s.err == nil {
			v = append(v, s.bps)
		}
	}
	if len(v) == 0 {
		return 0, false
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2], true
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2, true
}

var columns = []string{"size", "assocs", "direct Mbit/s", "socat", "vs direct", "sctpguard", "vs direct", "vs socat"}

type table struct {
	header  string
	rows    [][]string
	targets []string
	errs    []string
}

func buildTable(s settings, res results) *table {
	t := &table{header: fmt.Sprintf("iperf3 --sctp -N, %d s per run after %d s left out, medians of %d rounds", s.secs, s.omit, s.rounds)}
	meet := map[string][2]int{} // target: met, cells
	for _, size := range s.sizes {
		for _, par := range s.parallel {
			k := key{size, par}
			var v [3]float64
			var ok [3]bool
			for i, name := range pathNames {
				v[i], ok[i] = res.median(k, name)
				for _, smp := range res[k][name] {
					if smp.err != nil {
						t.errs = append(t.errs, fmt.Sprintf("%s × %d %s: %v", sizeName(size), par, name, smp.err))
					}
				}
			}
			t.rows = append(t.rows, row(size, par, v, ok))
			if ok[1] && ok[2] && v[1] > 0 {
				goal := 1.2
				if size > 16<<10 {
					goal = 1.0
				}
				m := meet["socat"]
				m[1]++
				if v[2]/v[1] >= goal {
					m[0]++
				}
				meet["socat"] = m
			}
			if ok[0] && ok[2] && v[0] > 0 {
				m := meet["direct"]
				m[1]++
				if v[2]/v[0] >= 0.45 {
					m[0]++
				}
				meet["direct"] = m
			}
		}
	}
	t.targets = []string{
		fmt.Sprintf("throughput >= 1.2x socat up to 16 KiB, >= 1.0x above: %d of %d cells", meet["socat"][0], meet["socat"][1]),
		fmt.Sprintf("throughput >= 0.45x direct: %d of %d cells", meet["direct"][0], meet["direct"][1]),
	}
	return t
}

func row(size, par int, v [3]float64, ok [3]bool) []string {
	fig := func(i int) string {
		if !ok[i] {
			return "-"
		}
		return fmt.Sprintf("%.1f", v[i]/1e6)
	}
	ratio := func(i, base int) string {
		if !ok[i] || !ok[base] || v[base] == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2fx", v[i]/v[base])
	}
	return []string{sizeName(size), strconv.Itoa(par), fig(0), fig(1), ratio(1, 0), fig(2), ratio(2, 0), ratio(2, 1)}
}

func (t *table) writeText(w io.Writer) {
	fmt.Fprintln(w, t.header)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range append([][]string{columns}, t.rows...) {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
	for _, l := range t.targets {
		fmt.Fprintln(w, "target: "+l)
	}
	for _, e := range t.errs {
		fmt.Fprintln(w, "error: "+e)
	}
}

func (t *table) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n| %s |\n|---|--:|%s\n", t.header, strings.Join(columns, " | "), strings.Repeat("--:|", len(columns)-2))
	for _, r := range t.rows {
		fmt.Fprintf(&b, "| %s |\n", strings.Join(r, " | "))
	}
	b.WriteString("\n")
	for _, l := range t.targets {
		fmt.Fprintf(&b, "- %s\n", l)
	}
	for _, e := range t.errs {
		fmt.Fprintf(&b, "\nerror: %s  ", e)
	}
	return b.String()
}

// writeMarkdownTo writes the markdown table to path, or between markers to
// stdout when path is "-".
func (t *table) writeMarkdownTo(path string, stdout io.Writer) error {
	return report.WriteMarkdown("iperf", path, t.markdown(), stdout)
}

func sizeName(n int) string { return report.SizeName(n) }
