package kaudit

import "fmt"

// checkCoreMax reports net.core.rmem_max or wmem_max when a process may set
// a buffer larger than the per-association quota.
func (a Auditor) checkCoreMax(add func(...Finding), q Quotas, which string) {
	name := "net.core." + which
	v, err := a.sysctl(name, 1)
	if err != nil {
		add(unreadable(name, err))
		return
	}
	allowed := 2 * v[0] // the kernel doubles what SO_RCVBUF / SO_SNDBUF asks
	if q.Association <= 0 || allowed <= q.Association {
		return
	}
	f := Finding{Severity: Warn, Subject: name,
		Hint: fmt.Sprintf("sysctl -w %s=%d, half the quota since the kernel doubles what is asked; it caps explicit buffer sizes of every protocol, TCP autotuning excepted", name, q.Association/2)}
	if which == "rmem_max" {
		f.Message = fmt.Sprintf("= %d: any process on this host may set SO_RCVBUF to %s of kernel accounting, above the per-association quota (%s); "+
			"a receiver that stops reading then makes the kernel hold several times that for small messages, and only traffic through sctpguard is bounded by its quotas",
			v[0], size(allowed), size(q.Association))
	} else {
		f.Message = fmt.Sprintf("= %d: an application sending to sctpguard may set SO_SNDBUF to %s of kernel accounting, above the per-association quota (%s); "+
			"what waits in its send queue is on this host but outside sctpguard's quota, and sctpguard cannot shrink an application's own buffer",
			v[0], size(allowed), size(q.Association))
	}
	add(f)
}

// checkWmemDefault reports net.core.wmem_default, the send buffer SCTP
// sockets start with, when it exceeds the per-association quota.
func (a Auditor) checkWmemDefault(add func(...Finding), q Quotas) {
	const name = "net.core.wmem_default"
	v, err := a.sysctl(name, 1)
	if err != nil {
		add(unreadable(name, err))
		return
	}
	if q.Association <= 0 || v[0] <= q.Association {
		return
	}
	add(Finding{Severity: Warn, Subject: name,
		Message: fmt.Sprintf("= %d: applications that do not set SO_SNDBUF start with %s of send buffer, above the per-association quota (%s); "+
			"data they queue toward sctpguard is held by the kernel outside sctpguard's quota", v[0], size(v[0]), size(q.Association)),
		Hint: fmt.Sprintf("sysctl -w %s=%d, or have the applications set SO_SNDBUF", name, q.Association)})
}

// size formats a byte count with a binary unit.
func size(n int64) string {
	const k = 1024
	switch {
	case n >= k*k*k:
		return fmt.Sprintf("%.1f GiB", float64(n)/(k*k*k))
	case n >= k*k:
		return fmt.Sprintf("%.1f MiB", float64(n)/(k*k))
	case n >= k:
		return fmt.Sprintf("%.1f KiB", float64(n)/k)
	}
	return fmt.Sprintf("%d B", n)
}
