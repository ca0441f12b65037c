package config

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Error reports every problem found in a configuration file. Load and
// Parse return it, as a *Error, when the file was read but is invalid.
type Error struct {
	Diags []Diagnostic // in file order
}

// Diagnostic is one problem, at the position of the offending value (or
// of the block that lacks it).
type Diagnostic struct {
	File         string
	Line, Column int    // 1-based; zero when unknown
	Field        string // such as relay.diameter.quota.association; empty for syntax errors
	Message      string // the bad value and what is allowed
}

// String formats d as "file:line:col: field: message".
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.File)
	if d.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", d.Line, d.Column)
	}
	b.WriteString(": ")
	if d.Field != "" {
		b.WriteString(d.Field + ": ")
	}
	b.WriteString(d.Message)
	return b.String()
}

// Error returns one line per problem.
func (e *Error) Error() string {
	lines := make([]string, len(e.Diags))
	for i, d := range e.Diags {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// WriteTo writes one line per problem to w, each ending in a newline, as
// `sctpguard check` prints them.
func (e *Error) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for _, d := range e.Diags {
		m, err := io.WriteString(w, d.String()+"\n")
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// sortDiags orders diagnostics by position, keeping the order of those at
// the same position.
func sortDiags(ds []Diagnostic) {
	slices.SortStableFunc(ds, func(a, b Diagnostic) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
		)
	})
}

// fromHCL converts HCL's own error diagnostics (syntax, unknown blocks
// and attributes, with its "Did you mean" suggestions).
func fromHCL(hd hcl.Diagnostics, filename string) []Diagnostic {
	var ds []Diagnostic
	for _, h := range hd {
		if h.Severity != hcl.DiagError {
			continue
		}
		d := Diagnostic{File: filename, Message: hclMessage(h)}
		if h.Subject != nil {
			d.File, d.Line, d.Column = h.Subject.Filename, h.Subject.Start.Line, h.Subject.Start.Column
		}
		ds = append(ds, d)
	}
	return ds
}

// hclMessage joins an HCL diagnostic's summary and detail on one line.
func hclMessage(h *hcl.Diagnostic) string {
	msg := h.Summary
	if msg != "" {
		msg = strings.ToLower(msg[:1]) + msg[1:]
	}
	if h.Detail != "" {
		msg += ": " + h.Detail
	}
	return strings.Join(strings.Fields(msg), " ")
}
