// Package rig runs integration tests against a real Linux kernel with SCTP.
//
// Development and CI machines often run a kernel without SCTP. A test package that
// touches SCTP declares
//
//	func TestMain(m *testing.M) { os.Exit(rig.Main(m)) }
//
// and plain `go test` keeps working: where the host kernel has SCTP the tests run
// natively; where it has none, Main boots a QEMU VM with Debian's kernel, shares the
// host's root read-only (under a tmpfs overlay, so every path is the same), re-runs
// the very same test binary with the same flags inside, streams its output back
// byte-exact and returns its exit status. Test caching, -run, -v, -json, -race and
// -cover keep working. When neither SCTP nor the VM can be had, Main fails loudly;
// it never skips.
//
// Tests of sctpguard as a system service declare MainSystemd instead: they run in
// a VM booted with the host's systemd as PID 1, always, so that they can install
// units, users and packages on the guest's throwaway root.
//
// setup.sh (next to this file) installs qemu, busybox, socat, lksctp-tools and the
// kernel package, and builds the initramfs; Main runs it when the cache is missing.
//
// Knobs, all optional: SCTPGUARD_RIG_CACHE (cache folder), SCTPGUARD_VM_MEM (MiB,
// default 3072), SCTPGUARD_VM_CPUS (default 2), SCTPGUARD_RIG=native|vm to force a mode.
package rig

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// GuestEnv is set to "1" in the environment of every command run inside the VM.
const GuestEnv = "SCTPGUARD_RIG_GUEST"

// Main runs the tests of m natively when the kernel has SCTP, and in the VM otherwise.
// It returns the exit status for os.Exit.
func Main(m *testing.M) int {
	if os.Getenv(GuestEnv) == "1" {
		if err := HostHasSCTP(); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL rig: inside the VM but %v\n", err)
			return 1
		}
		return m.Run()
	}
	mode := os.Getenv("SCTPGUARD_RIG")
	if mode != "vm" && HostHasSCTP() == nil {
		return m.Run()
	}
	if mode == "native" {
		fmt.Fprintf(os.Stderr, "FAIL rig: SCTPGUARD_RIG=native but %v\n", HostHasSCTP())
		return 1
	}
	flag.Parse()
	code, err := Run(context.Background(), Command{
		Args:    os.Args,
		Timeout: testTimeout(),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL rig: %v\n", err)
		return 1
	}
	return code
}

// MainSystemd is Main for tests that change the system they run on — they
// install units, users and packages and start services: they always run in a
// VM whose PID 1 is the host's systemd (Command.Systemd), never natively, even
// where the kernel has SCTP. It returns the exit status for os.Exit.
func MainSystemd(m *testing.M) int {
	if os.Getenv(GuestEnv) == "1" {
		if err := underSystemd(); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL rig: inside the VM but %v\n", err)
			return 1
		}
		if err := HostHasSCTP(); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL rig: inside the VM but %v\n", err)
			return 1
		}
		return m.Run()
	}
	flag.Parse()
	code, err := Run(context.Background(), Command{
		Args:    os.Args,
		Timeout: testTimeout(),
		Systemd: true,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL rig: %v\n", err)
		return 1
	}
	return code
}

// underSystemd reports nil when PID 1 is systemd.
func underSystemd() error {
	b, err := os.ReadFile("/proc/1/comm")
	if err != nil {
		return fmt.Errorf("cannot tell what PID 1 is: %w", err)
	}
	if comm := strings.TrimSpace(string(b)); comm != "systemd" {
		return fmt.Errorf("PID 1 is %q, not systemd", comm)
	}
	return nil
}

// HostHasSCTP reports nil when this kernel can open an SCTP socket.
func HostHasSCTP() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_SCTP)
	if err != nil {
		return fmt.Errorf("kernel has no SCTP: socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP): %w", err)
	}
	unix.Close(fd)
	return nil
}

// testTimeout is the -test.timeout the binary was given, plus time to boot and
// report; zero when there is none.
func testTimeout() time.Duration {
	f := flag.Lookup("test.timeout")
	if f == nil {
		return 0
	}
	d, ok := f.Value.(flag.Getter).Get().(time.Duration)
	if !ok || d <= 0 {
		return 0
	}
	return d + 2*time.Minute
}
