package kaudit

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/sctpguard/sctpguard/diag"
)

// sysctl reads a sysctl as whitespace-separated integers; want is how many.
func (a Auditor) sysctl(name string, want int) ([]int64, error) {
	p := "proc/sys/" + strings.ReplaceAll(name, ".", "/")
	b, err := fs.ReadFile(a.FS, p)
	if err != nil {
		return nil, fmt.Errorf("read /%s: %w", p, err)
	}
	fields := strings.Fields(string(b))
	if len(fields) != want {
		return nil, fmt.Errorf("/%s holds %q, want %d integers", p, strings.TrimSpace(string(b)), want)
	}
	v := make([]int64, want)
	for i, f := range fields {
		if v[i], err = strconv.ParseInt(f, 10, 64); err != nil {
			return nil, fmt.Errorf("/%s: %w", p, err)
		}
	}
	return v, nil
}

// unreadable is the finding for a sysctl that could not be read.
func unreadable(name string, err error) Finding {
	return Finding{Severity: Warn, Subject: name,
		Message: fmt.Sprintf("cannot audit: %v", err)}
}

func (a Auditor) checkSCTP(add func(...Finding)) bool {
	err := a.ProbeSCTP()
	if err == nil {
		return true
	}
	add(Finding{Severity: Error, Subject: "sctp",
		Message: fmt.Sprintf("the kernel has no SCTP (%v): sctpguard cannot open a single socket", err),
		Hint:    "modprobe sctp, and list sctp in /etc/modules-load.d/sctp.conf to load it at boot; check that it is not blacklisted in /etc/modprobe.d"})
	return false
}

func (a Auditor) checkDiag(add func(...Finding)) {
	err := a.ProbeDiag()
	if err == nil {
		return
	}
	f := Finding{Severity: Warn, Subject: "sctp_diag",
		Message: fmt.Sprintf("sock_diag for SCTP fails (%v)%s: sctpguard status cannot show what the kernel holds per association, nor check sctpguard's accounting against it",
			err, a.diagModuleNote()),
		Hint: "check that sctpguard may open NETLINK_SOCK_DIAG sockets (seccomp, SELinux, AppArmor)"}
	if errors.Is(err, diag.ErrNoSCTPDiag) {
		f.Hint = "modprobe sctp_diag, and list it in /etc/modules-load.d/"
	}
	add(f)
}

// diagModuleNote says whether /proc/modules lists sctp_diag (it may also be
// built in, and is then never listed).
func (a Auditor) diagModuleNote() string {
	b, err := fs.ReadFile(a.FS, "proc/modules")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(b)) {
		if strings.HasPrefix(line, "sctp_diag ") {
			return "; sctp_diag is loaded"
		}
	}
	return "; sctp_diag is not in /proc/modules"
}

// checkPolicy reports net.sctp.sndbuf_policy or rcvbuf_policy.
func (a Auditor) checkPolicy(add func(...Finding), name, dir, opt, counter string) {
	full := "net.sctp." + name
	v, err := a.sysctl(full, 1)
	if err != nil {
		add(unreadable(full, err))
		return
	}
	f := Finding{Severity: Info, Subject: full}
	switch v[0] {
	case 0:
		f.Message = fmt.Sprintf("= 0: %s buffer space is accounted per socket, so the associations of a one-to-many socket share one %s; "+
			"sctpguard's one-to-one sockets hold one association each, so %s bounds one association, and sock_diag's %s is the socket's; "+
			"a relay with listen_style one_to_many sizes its shared socket's %s from quota.socket",
			dir, opt, opt, counter, opt)
	case 1:
		f.Message = fmt.Sprintf("= 1: every association is accounted on its own, so a one-to-many socket of another application can hold %s "+
			"once per association; sctpguard's one-to-one sockets are unaffected, and sock_diag's %s is the association's; "+
			"a relay with listen_style one_to_many sizes its shared socket's %s from quota.association, as the kernel then gives that much to each association on it",
			opt, counter, opt)
	default:
		f.Severity = Warn
		f.Message = fmt.Sprintf("= %d: the kernel documents only 0 (per socket) and 1 (per association) for %s buffer accounting", v[0], dir)
		f.Hint = fmt.Sprintf("sysctl -w %s=0", full)
	}
	add(f)
}

func (a Auditor) checkSCTPMem(add func(...Finding), q Quotas) {
	const name = "net.sctp.sctp_mem"
	v, err := a.sysctl(name, 3)
	if err != nil {
		add(unreadable(name, err))
		return
	}
	pressure, limit := v[1]*a.PageSize, v[2]*a.PageSize
	f := Finding{Severity: Info, Subject: name,
		Message: fmt.Sprintf("= %d %d %d pages: SCTP sockets host-wide are squeezed above %s and refused memory above %s, "+
			"counted as the kernel counts it, which for small messages is a fraction of the real cost (about 1/8 for 1-byte messages on Linux 6.1), so it is no backstop",
			v[0], v[1], v[2], size(pressure), size(limit))}
	if q.Global > 0 && limit < q.Global {
		f.Severity = Warn
		f.Message += fmt.Sprintf("; it is below quota.global (%s): the kernel will drop incoming data, to be retransmitted, before sctpguard's quota blocks writers", size(q.Global))
		f.Hint = fmt.Sprintf("lower quota.global below %s, or raise %s", size(limit), name)
	}
	add(f)
}

// checkSCTPBuf reports net.sctp.sctp_rmem or sctp_wmem.
func (a Auditor) checkSCTPBuf(add func(...Finding), name, dir, core string) {
	full := "net.sctp." + name
	v, err := a.sysctl(full, 3)
	if err != nil {
		add(unreadable(full, err))
		return
	}
	add(Finding{Severity: Info, Subject: full,
		Message: fmt.Sprintf("= %d %d %d: when SCTP is over net.sctp.sctp_mem every socket may still hold %s of %s buffer; "+
			"SCTP sockets do not start with the middle value but with %s (measured on Linux 6.1), and sctpguard sizes its own sockets from the quota",
			v[0], v[1], v[2], size(v[0]), dir, core)})
}
