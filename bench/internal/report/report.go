// Package report holds what the benchmark commands print alike: message sizes
// as the tables name them, the lists their flags take, and the markdown
// tables bench/run.sh gathers from their output between marker lines.
package report

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// SizeName is a message size as the tables show it: "100 B", "16 KiB".
func SizeName(n int) string {
	if n >= 1<<10 && n%(1<<10) == 0 {
		return strconv.Itoa(n>>10) + " KiB"
	}
	return strconv.Itoa(n) + " B"
}

// Counts parses flag flagName's comma-separated list of integers from lo to hi.
func Counts(flagName, list string, lo, hi int) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < lo || n > hi {
			return nil, fmt.Errorf("%s: %q is not a number from %d to %d", flagName, f, lo, hi)
		}
		out = append(out, n)
	}
	return out, nil
}

// Markers are the lines around benchmark name's markdown on stdout, which
// bench/run.sh looks for.
func Markers(name string) (begin, end string) {
	return "<!-- " + name + " benchmark: begin -->", "<!-- " + name + " benchmark: end -->"
}

// WriteMarkdown writes benchmark name's markdown md to path, or, when path is
// "-", to stdout between its markers.
func WriteMarkdown(name, path, md string, stdout io.Writer) error {
	if path == "-" {
		begin, end := Markers(name)
		_, err := fmt.Fprintf(stdout, "\n%s\n%s\n%s\n", begin, strings.TrimRight(md, "\n "), end)
		return err
	}
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		return fmt.Errorf("write markdown: %w", err)
	}
	return nil
}
