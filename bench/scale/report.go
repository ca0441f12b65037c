package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// targets from the issue: per idle relayed association, and for the process.
const (
	targetRSSPerAssoc = 32 << 10
	targetThreads     = 50
)

// write prints the table, and as markdown to md ("-" frames it on w).
func (r *result) write(w io.Writer, md string) error {
	rows := r.rows()
	fmt.Fprintf(w, "\nsctpguard at %d concurrent associations (one process, idle %v before reading memory)\n\n", r.n, r.idle)
	for _, row := range rows {
		fmt.Fprintf(w, "  %-48s %-16s %s\n", row[0], row[1], row[2])
	}
	if r.firstFailure != nil {
		fmt.Fprintf(w, "\n  first failure: %v\n", r.firstFailure)
	}
	if md == "" {
		return nil
	}
	var b strings.Builder
	b.WriteString("| measure | value | target |\n|---|---|---|\n")
	for _, row := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", row[0], row[1], row[2])
	}
	if md == "-" {
		fmt.Fprintf(w, "<!-- scale benchmark: begin -->\n%s<!-- scale benchmark: end -->\n", b.String())
		return nil
	}
	return os.WriteFile(md, []byte(b.String()), 0o644)
}

func (r *result) rows() [][3]string {
	perAssoc := (r.rss - r.rssBase) / int64(r.n)
	return [][3]string{
		{"associations set up and first message relayed", fmt.Sprintf("%d in %v", r.n, r.setup.Round(time.Millisecond)), ""},
		{"set-up rate", fmt.Sprintf("%.0f assoc/s", float64(r.n)/r.setup.Seconds()), ""},
		{"sctpguard RSS before / with all idle", fmt.Sprintf("%s / %s", mib(r.rssBase), mib(r.rss)), ""},
		{"sctpguard RSS per idle association", fmt.Sprintf("%.1f KiB", float64(perAssoc)/1024), verdict(perAssoc <= targetRSSPerAssoc, "≤ 32 KiB")},
		{"sctpguard OS threads", fmt.Sprint(r.threads), verdict(r.threads < targetThreads, "< 50")},
		{"associations in sctpguard status", fmt.Sprintf("%d (answered in %v)", r.listed, r.statusTook.Round(time.Millisecond)), verdict(r.listed == r.n, fmt.Sprint(r.n))},
		{"with the kernel's bytes (sock_diag) in status", fmt.Sprint(r.kernelKnown), verdict(r.kernelKnown == r.n, fmt.Sprint(r.n))},
		{"metrics scrape (before: the status snapshot)", fmt.Sprintf("%v (was %v)", r.scrapeTook.Round(10*time.Microsecond), r.statusTook.Round(time.Millisecond)), "no kernel query per association"},
		{"relayed a message before / after idling", fmt.Sprintf("%d / %d", r.before, r.after), verdict(r.failed == 0, "all")},
	}
}

func verdict(ok bool, target string) string {
	if ok {
		return target + " (met)"
	}
	return target + " (NOT met)"
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
