package kerneltest

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/sctpguard/sctpguard/kaudit"
	"golang.org/x/sys/unix"
)

const mib = 1 << 20

// TestAuditThisKernel audits the kernel the tests run on (the VM's Linux 6.1
// when this host has no SCTP): SCTP and sctp_diag are there, and every
// net.sctp setting reads.
func TestAuditThisKernel(t *testing.T) {
	got := kaudit.Audit(kaudit.Quotas{Association: 1 * mib, Global: 256 * mib})
	subjects := map[string]bool{}
	for _, f := range got {
		t.Log(f)
		subjects[f.Subject] = true
		if f.Severity == kaudit.Error || f.Subject == "sctp" || f.Subject == "sctp_diag" {
			t.Errorf("unexpected: %s", f)
		}
		if strings.HasPrefix(f.Message, "cannot audit") {
			t.Errorf("unreadable: %s", f)
		}
	}
	for _, s := range []string{"net.sctp.sndbuf_policy", "net.sctp.rcvbuf_policy", "net.sctp.sctp_mem", "net.sctp.sctp_rmem", "net.sctp.sctp_wmem", "memory cgroup"} {
		if !subjects[s] {
			t.Errorf("no finding about %s", s)
		}
	}
}

// TestSCTPSocketDefaults backs the claim in the sctp_rmem and sctp_wmem
// findings: a new SCTP socket starts with net.core.rmem_default and
// wmem_default, not the middle values of net.sctp.sctp_rmem and sctp_wmem.
func TestSCTPSocketDefaults(t *testing.T) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_SCTP)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	for _, c := range []struct {
		opt         int
		core, proto string
	}{
		{unix.SO_RCVBUF, "net/core/rmem_default", "net/sctp/sctp_rmem"},
		{unix.SO_SNDBUF, "net/core/wmem_default", "net/sctp/sctp_wmem"},
	} {
		got, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, c.opt)
		if err != nil {
			t.Fatal(err)
		}
		core, proto := readProc(t, c.core), readProc(t, c.proto)
		t.Logf("socket buffer %d; %s = %s; %s = %s", got, c.core, core, c.proto, proto)
		if strings.Fields(core)[0] != fmt.Sprint(got) {
			t.Errorf("buffer %d, want %s = %s", got, c.core, core)
		}
	}
}

func readProc(t *testing.T, name string) string {
	b, err := os.ReadFile("/proc/sys/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
