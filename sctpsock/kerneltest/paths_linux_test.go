package kerneltest

import (
	"context"
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/sctpguard/sctpguard/sctpsock"
	"golang.org/x/sys/unix"
)

// kernelPathSettings reads back what the kernel holds for the association:
// RTO initial, min, max, and the first path's heartbeat interval and max
// retransmissions.
type kernelPathSettings struct {
	rtoInitial, rtoMin, rtoMax, hb uint32
	pathMaxRxt                     uint16
}

func readPathSettings(t *testing.T, c *sctpsock.Conn) kernelPathSettings {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var k kernelPathSettings
	var gerr error
	rc.Control(func(fd uintptr) {
		var rto [16]byte
		n := uint32(len(rto))
		if gerr = getsockopt(int(fd), 0 /* SCTP_RTOINFO */, unsafe.Pointer(&rto[0]), &n); gerr != nil {
			return
		}
		ne := binary.NativeEndian
		k.rtoInitial, k.rtoMax, k.rtoMin = ne.Uint32(rto[4:]), ne.Uint32(rto[8:]), ne.Uint32(rto[12:])
		var pp [152]byte
		n = uint32(len(pp))
		if gerr = getsockopt(int(fd), 9 /* SCTP_PEER_ADDR_PARAMS */, unsafe.Pointer(&pp[0]), &n); gerr != nil {
			return
		}
		k.hb, k.pathMaxRxt = ne.Uint32(pp[132:]), ne.Uint16(pp[136:])
	})
	if gerr != nil {
		t.Fatal(gerr)
	}
	return k
}

func getsockopt(fd, opt int, p unsafe.Pointer, n *uint32) error {
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.IPPROTO_SCTP, uintptr(opt), uintptr(p), uintptr(unsafe.Pointer(n)), 0)
	if e != 0 {
		return e
	}
	return nil
}

// TestPathOptions: the settings reach the kernel on both the dialed and the
// accepted association, and SetPathOptions changes them on a live one.
func TestPathOptions(t *testing.T) {
	po := sctpsock.PathOptions{HeartbeatInterval: 240 * time.Millisecond, MaxRetransmissions: 2,
		RTOInitial: 200 * time.Millisecond, RTOMin: 100 * time.Millisecond, RTOMax: 800 * time.Millisecond}
	want := kernelPathSettings{rtoInitial: 200, rtoMin: 100, rtoMax: 800, hb: 240, pathMaxRxt: 2}
	client, server := pair(t, sctpsock.Options{Path: po}, sctpsock.Options{Path: po})
	for name, c := range map[string]*sctpsock.Conn{"dialed": client, "accepted": server} {
		if got := readPathSettings(t, c); got != want {
			t.Errorf("%s association: kernel holds %+v, want %+v", name, got, want)
		}
	}
	if err := server.SetPathOptions(sctpsock.PathOptions{HeartbeatInterval: time.Second, RTOMax: 1500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	want.hb, want.rtoMax = 1000, 1500
	if got := readPathSettings(t, server); got != want {
		t.Errorf("after SetPathOptions: kernel holds %+v, want %+v", got, want)
	}
	_, err := sctpsock.Dial(context.Background(), nil, []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:9")},
		sctpsock.Options{Path: sctpsock.PathOptions{RTOMin: 2 * time.Second, RTOMax: time.Second}})
	if err == nil || !strings.Contains(err.Error(), "SCTP_RTOINFO") {
		t.Errorf("rto min above max: %v, want the kernel's refusal of SCTP_RTOINFO", err)
	}
}

// TestPaths: a multi-homed association reports one path per peer address,
// each confirmed by heartbeat and active.
func TestPaths(t *testing.T) {
	addrs := []netip.AddrPort{loopback, netip.MustParseAddrPort("127.0.0.2:0")}
	l := listen(t, addrs, sctpsock.Options{})
	go func() {
		if c, err := l.Accept(); err == nil {
			defer c.Close()
			for { // until the client goes
				if _, err := c.ReadMsg(nil); err != nil {
					return
				}
			}
		}
	}()
	c := dial(t, l.Addrs(), sctpsock.Options{Path: sctpsock.PathOptions{HeartbeatInterval: 100 * time.Millisecond}})
	deadline := time.Now().Add(10 * time.Second)
	for {
		paths, err := c.Paths()
		if err != nil {
			t.Fatal(err)
		}
		active := 0
		for _, p := range paths {
			if p.State == sctpsock.PathActive {
				active++
			}
		}
		if len(paths) == 2 && active == 2 {
			if paths[0].Addr != l.Addrs()[0] || paths[1].Addr != l.Addrs()[1] {
				t.Errorf("paths %v, want the listener's addresses %v", paths, l.Addrs())
			}
			if paths[0].RTO <= 0 || paths[0].MTU == 0 {
				t.Errorf("path %+v: no RTO or MTU", paths[0])
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("paths %+v: want 2, both ACTIVE", paths)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
