package kerneltest

import (
	"errors"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// TestAcceptOutOfDescriptors: with no descriptor left for the accepted socket,
// Accept aborts the association instead of leaving it in the backlog, says why,
// and accepts again once descriptors are back.
func TestAcceptOutOfDescriptors(t *testing.T) {
	l := listen(t, []netip.AddrPort{loopback}, sctpsock.Options{})
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	// One descriptor left: the client's socket takes it. A descriptor of an
	// earlier test that the runtime closes meanwhile frees one more, and Accept
	// then succeeds: try again, with finalizers run first.
	var c *sctpsock.Conn
	var err error
	for range 3 {
		runtime.GC()
		time.Sleep(50 * time.Millisecond)
		free := freeFDs(t)
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: uint64(free[1]), Max: old.Max}); err != nil {
			t.Fatal(err)
		}
		c = dial(t, l.Addrs(), sctpsock.Options{})
		var a *sctpsock.Conn
		a, err = l.Accept()
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
			t.Fatal(err)
		}
		if err != nil {
			break
		}
		a.Close()
		c.Close()
	}
	if !errors.Is(err, sctpsock.ErrNoDescriptor) || !errors.Is(err, syscall.EMFILE) {
		t.Fatalf("Accept = %v, want ErrNoDescriptor and EMFILE", err)
	}
	t.Log(err)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := readData(t, c, nil); !errors.Is(err, sctpsock.ErrAborted) {
		t.Errorf("client of the shed association: %v, want ABORT", err)
	}
	go func() { dial(t, l.Addrs(), sctpsock.Options{}) }()
	a, err := l.Accept()
	if err != nil {
		t.Fatalf("Accept once descriptors are back: %v", err)
	}
	a.Close()
}

// freeFDs lists the lowest descriptor numbers this process has free.
func freeFDs(t *testing.T) []int {
	t.Helper()
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	self := int(d.Fd()) // listed, but free again below
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		t.Fatal(err)
	}
	used := map[int]bool{}
	for _, name := range names {
		n, _ := strconv.Atoi(name)
		used[n] = n != self
	}
	var free []int
	for n := 0; len(free) < 4; n++ {
		if !used[n] {
			free = append(free, n)
		}
	}
	return free
}
