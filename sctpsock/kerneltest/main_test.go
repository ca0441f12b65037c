package kerneltest

import (
	"context"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/sctpsock"
	"github.com/sctpguard/sctpguard/test/rig"
)

// TestMain runs the package's tests in a VM with a real SCTP kernel when
// this host has none (see test/rig).
//
// With dieEnv set, the test binary is instead a process that dials the
// address it names, exchanges a message and dies of SIGKILL (see
// TestAbortOnExit).
func TestMain(m *testing.M) {
	if addr := os.Getenv(dieEnv); addr != "" {
		dialAndDie(addr, os.Getenv(abortOnExitEnv) == "1")
	}
	os.Exit(rig.Main(m))
}

const (
	dieEnv         = "SCTPSOCK_TEST_DIAL_AND_DIE"
	abortOnExitEnv = "SCTPSOCK_TEST_ABORT_ON_EXIT"
)

// dialAndDie connects to addr, sends "ready", waits for any answer and kills
// its own process, leaving nothing unread and the Conn open.
func dialAndDie(addr string, abortOnExit bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := sctpsock.Dial(ctx, nil, []netip.AddrPort{netip.MustParseAddrPort(addr)}, sctpsock.Options{AbortOnExit: abortOnExit})
	if err != nil {
		os.Exit(3)
	}
	if c.WriteMsg(sctpsock.Msg{Data: []byte("ready")}) != nil {
		os.Exit(4)
	}
	for {
		m, err := c.ReadMsg(nil)
		if err != nil {
			os.Exit(5)
		}
		if m.Notification == nil {
			break
		}
	}
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}
