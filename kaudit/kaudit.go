package kaudit

import (
	"cmp"
	"fmt"
	"io/fs"
	"os"
	"slices"
)

// Severity ranks a finding.
type Severity int

const (
	// Info is a fact about the kernel worth one log line; nothing to fix.
	Info Severity = iota
	// Warn is a setting that weakens the quotas or hides what the kernel holds.
	Warn
	// Error is a kernel sctpguard cannot work on.
	Error
)

func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warn:
		return "warn"
	case Error:
		return "error"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// Finding is one line of the audit: the setting, its value and why it
// matters, and what to do about it.
type Finding struct {
	Severity Severity
	// Subject names the setting or facility: "net.core.rmem_max", "sctp".
	Subject string
	// Message states the value found and why it matters.
	Message string
	// Hint says how to change it; empty when there is nothing to do.
	Hint string
}

// String formats f as one log line.
func (f Finding) String() string {
	s := fmt.Sprintf("%s %s: %s", f.Severity, f.Subject, f.Message)
	if f.Hint != "" {
		s += " (fix: " + f.Hint + ")"
	}
	return s
}

// Quotas are the sizes configured, in bytes; checks against a zero size are
// skipped.
type Quotas struct {
	// Association is the largest per-association quota of any relay.
	Association int64
	// Global is the global quota.
	Global int64
}

// Auditor audits a kernel. The zero value audits the running one.
type Auditor struct {
	// FS is the root of the file system holding /proc and /sys.
	// If nil, os.DirFS("/").
	FS fs.FS
	// ProbeSCTP reports nil when an SCTP socket can be opened.
	// If nil, it opens socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP).
	ProbeSCTP func() error
	// ProbeDiag reports nil when sock_diag answers for SCTP.
	// If nil, it runs diag.Dump.
	ProbeDiag func() error
	// PageSize is the kernel's page size, the unit of net.sctp.sctp_mem.
	// If zero, os.Getpagesize().
	PageSize int64
}

// Audit audits the running kernel; see Auditor.Audit.
func Audit(q Quotas) []Finding { return Auditor{}.Audit(q) }

// Audit reports everything on this kernel that defeats or weakens quotas q,
// most severe first.
func (a Auditor) Audit(q Quotas) []Finding {
	a = a.withDefaults()
	var out []Finding
	add := func(f ...Finding) { out = append(out, f...) }
	sctpOK := a.checkSCTP(add)
	if sctpOK {
		a.checkDiag(add)
		a.checkPolicy(add, "sndbuf_policy", "send", "SO_SNDBUF", "wmem_alloc")
		a.checkPolicy(add, "rcvbuf_policy", "receive", "SO_RCVBUF", "rmem_alloc")
		a.checkSCTPMem(add, q)
		a.checkSCTPBuf(add, "sctp_rmem", "receive", "net.core.rmem_default")
		a.checkSCTPBuf(add, "sctp_wmem", "send", "net.core.wmem_default")
	}
	a.checkCoreMax(add, q, "rmem_max")
	a.checkCoreMax(add, q, "wmem_max")
	a.checkWmemDefault(add, q)
	a.checkCgroup(add, q)
	slices.SortStableFunc(out, func(x, y Finding) int { return cmp.Compare(y.Severity, x.Severity) })
	return out
}

func (a Auditor) withDefaults() Auditor {
	if a.FS == nil {
		a.FS = os.DirFS("/")
	}
	if a.ProbeSCTP == nil {
		a.ProbeSCTP = probeSCTP
	}
	if a.ProbeDiag == nil {
		a.ProbeDiag = probeDiag
	}
	if a.PageSize == 0 {
		a.PageSize = int64(os.Getpagesize())
	}
	return a
}
