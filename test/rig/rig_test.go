package rig_test

import (
	"os"
	"strings"
	"testing"

	"github.com/sctpguard/sctpguard/test/rig"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { os.Exit(rig.Main(m)) }

// TestKernelHasSCTP checks that the tests of this package run where SCTP works,
// with sctp_diag loaded, and that the host's files are visible at their paths.
func TestKernelHasSCTP(t *testing.T) {
	if err := rig.HostHasSCTP(); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_SEQPACKET, unix.IPPROTO_SCTP)
	if err != nil {
		t.Fatalf("one-to-many SCTP socket: %v", err)
	}
	unix.Close(fd)
	if _, err := os.Stat("testdata/visible.txt"); err != nil {
		t.Fatalf("host files not visible in the guest: %v", err)
	}
}

func TestWritableTempDir(t *testing.T) {
	p := t.TempDir() + "/f"
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestSCTPDiagLoaded(t *testing.T) {
	if os.Getenv(rig.GuestEnv) != "1" {
		t.Skip("native run: sctp_diag is the host's business")
	}
	b, err := os.ReadFile("/proc/modules")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "sctp_diag") {
		t.Fatal("sctp_diag is not loaded in the guest")
	}
}
