package kaudit_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sctpguard/sctpguard/diag"
	"github.com/sctpguard/sctpguard/kaudit"
	"golang.org/x/sys/unix"
)

const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
)

func ok() error { return nil }

// fake audits the tree testdata/host with both probes succeeding.
func fake(host string) kaudit.Auditor {
	return kaudit.Auditor{FS: os.DirFS("testdata/" + host), ProbeSCTP: ok, ProbeDiag: ok, PageSize: 4096}
}

// summary lists "severity subject" per finding, in order.
func summary(fs []kaudit.Finding) []string {
	var s []string
	for _, f := range fs {
		s = append(s, f.Severity.String()+" "+f.Subject)
	}
	return s
}

func TestAuditFakeHosts(t *testing.T) {
	for _, tc := range []struct {
		host string
		q    kaudit.Quotas
		want []string
	}{
		{"debian12", kaudit.Quotas{Association: 64 * kib, Global: 1 * gib}, []string{
			"warn net.sctp.sctp_mem", "warn net.core.rmem_max", "warn net.core.wmem_max",
			"warn net.core.wmem_default", "warn memory cgroup",
			"info net.sctp.sndbuf_policy", "info net.sctp.rcvbuf_policy",
			"info net.sctp.sctp_rmem", "info net.sctp.sctp_wmem",
		}},
		{"debian12", kaudit.Quotas{Association: 1 * mib, Global: 256 * mib}, []string{
			"warn memory cgroup",
			"info net.sctp.sndbuf_policy", "info net.sctp.rcvbuf_policy", "info net.sctp.sctp_mem",
			"info net.sctp.sctp_rmem", "info net.sctp.sctp_wmem",
		}},
		{"debian12", kaudit.Quotas{}, []string{ // no quotas: no comparisons
			"warn memory cgroup",
			"info net.sctp.sndbuf_policy", "info net.sctp.rcvbuf_policy", "info net.sctp.sctp_mem",
			"info net.sctp.sctp_rmem", "info net.sctp.sctp_wmem",
		}},
		{"limited", kaudit.Quotas{Association: 64 * kib, Global: 256 * mib}, []string{
			"info net.sctp.sndbuf_policy", "info net.sctp.rcvbuf_policy", "info net.sctp.sctp_mem",
			"info net.sctp.sctp_rmem", "info net.sctp.sctp_wmem", "info memory cgroup",
		}},
		{"limited", kaudit.Quotas{Association: 64 * kib, Global: 1 * gib}, []string{
			"warn memory cgroup",
			"info net.sctp.sndbuf_policy", "info net.sctp.rcvbuf_policy", "info net.sctp.sctp_mem",
			"info net.sctp.sctp_rmem", "info net.sctp.sctp_wmem",
		}},
		{"cgroupv1", kaudit.Quotas{Association: 1 * mib, Global: 256 * mib}, []string{
			"warn memory cgroup",
			"info net.sctp.sndbuf_policy", "info net.sctp.rcvbuf_policy", "info net.sctp.sctp_mem",
			"info net.sctp.sctp_rmem", "info net.sctp.sctp_wmem",
		}},
		{"broken", kaudit.Quotas{Association: 1 * mib, Global: 256 * mib}, []string{
			"warn net.sctp.sndbuf_policy", "warn net.sctp.sctp_mem", "warn net.sctp.sctp_rmem",
			"warn net.sctp.sctp_wmem", "warn memory cgroup", "info net.sctp.rcvbuf_policy",
		}},
	} {
		t.Run(fmt.Sprintf("%s/%d/%d", tc.host, tc.q.Association, tc.q.Global), func(t *testing.T) {
			got := fake(tc.host).Audit(tc.q)
			if s := summary(got); !slices.Equal(s, tc.want) {
				t.Errorf("findings:\n  %s\nwant:\n  %s", strings.Join(s, "\n  "), strings.Join(tc.want, "\n  "))
			}
			for _, f := range got {
				checkWording(t, f)
			}
		})
	}
}

// checkWording: every line names its value and, when it asks for action,
// says what to do.
func checkWording(t *testing.T, f kaudit.Finding) {
	t.Helper()
	t.Log(f)
	if f.Subject == "" || f.Message == "" || strings.Contains(f.Message, "\n") {
		t.Errorf("malformed finding %q", f)
	}
	unread := strings.HasPrefix(f.Message, "cannot audit")
	if strings.HasPrefix(f.Subject, "net.") && !unread && !strings.HasPrefix(f.Message, "= ") {
		t.Errorf("%s: message does not start with its value: %q", f.Subject, f.Message)
	}
	if f.Severity >= kaudit.Warn && !unread && f.Hint == "" {
		t.Errorf("%s: a warning without a hint", f.Subject)
	}
}

func TestAuditMessages(t *testing.T) {
	got := fake("debian12").Audit(kaudit.Quotas{Association: 64 * kib, Global: 1 * gib})
	want := map[string][]string{
		"net.sctp.sctp_mem":  {"= 69741 92990 139482 pages", "refused memory above 544.9 MiB", "below quota.global (1.0 GiB)"},
		"net.core.rmem_max":  {"= 212992", "SO_RCVBUF to 416.0 KiB", "quota (64.0 KiB)", "net.core.rmem_max=32768"},
		"net.core.wmem_max":  {"= 212992", "cannot shrink"},
		"memory cgroup":      {"memory.max = max on /system.slice/sctpguard.service and its parents", "MemoryMax=1344M"},
		"net.sctp.sctp_rmem": {"= 4096 865500 2975680", "net.core.rmem_default"},
	}
	for _, f := range got {
		for _, s := range want[f.Subject] {
			if !strings.Contains(f.String(), s) {
				t.Errorf("%s: %q lacks %q", f.Subject, f, s)
			}
		}
	}
}

func TestAuditCgroupLimitFromParent(t *testing.T) {
	for _, f := range fake("limited").Audit(kaudit.Quotas{Global: 256 * mib}) {
		if f.Subject == "memory cgroup" && !strings.Contains(f.Message, "memory.max = 536870912 (512.0 MiB) on /system.slice bounds") {
			t.Errorf("got %q", f)
		}
	}
}

func TestAuditNoSCTP(t *testing.T) {
	a := fake("debian12")
	a.ProbeSCTP = func() error {
		return fmt.Errorf("socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP): %w", unix.EPROTONOSUPPORT)
	}
	a.ProbeDiag = func() error { t.Error("sock_diag probed without SCTP"); return nil }
	got := a.Audit(kaudit.Quotas{Association: 1 * mib, Global: 256 * mib})
	if len(got) == 0 || got[0].Severity != kaudit.Error || got[0].Subject != "sctp" ||
		!strings.Contains(got[0].Message, "protocol not supported") || !strings.HasPrefix(got[0].Hint, "modprobe sctp,") {
		t.Fatalf("first finding %q, want the error about SCTP", got)
	}
	for _, f := range got {
		if strings.HasPrefix(f.Subject, "net.sctp.") {
			t.Errorf("%s audited without SCTP", f.Subject)
		}
	}
}

func TestAuditNoDiag(t *testing.T) {
	for _, tc := range []struct {
		host, err, hint, note string
	}{
		{"limited", "no handler", "modprobe sctp_diag", "sctp_diag is not in /proc/modules"},
		{"debian12", "no handler", "modprobe sctp_diag", "sctp_diag is loaded"},
		{"debian12", "denied", "seccomp", "sctp_diag is loaded"},
	} {
		a := fake(tc.host)
		a.ProbeDiag = func() error {
			if tc.err == "denied" {
				return unix.EACCES
			}
			return fmt.Errorf("sock_diag dump sctp ipv4: %w", diag.ErrNoSCTPDiag)
		}
		var f *kaudit.Finding
		for _, x := range a.Audit(kaudit.Quotas{}) {
			if x.Subject == "sctp_diag" {
				f = &x
			}
		}
		if f == nil || f.Severity != kaudit.Warn || !strings.Contains(f.Hint, tc.hint) || !strings.Contains(f.Message, tc.note) {
			t.Errorf("%s/%s: finding %v, want a warning with %q and %q", tc.host, tc.err, f, tc.hint, tc.note)
		}
	}
}

func TestFindingString(t *testing.T) {
	f := kaudit.Finding{Severity: kaudit.Warn, Subject: "net.core.rmem_max", Message: "= 1: why", Hint: "sysctl -w x=1"}
	if got, want := f.String(), "warn net.core.rmem_max: = 1: why (fix: sysctl -w x=1)"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	if kaudit.Severity(7).String() != "severity(7)" {
		t.Error("severity(7)")
	}
}
