package diag

import (
	"context"
	"os"
	"net/netip"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/sctpsock"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

func TestExplore(t *testing.T) {
	l, err := sctpsock.Listen([]netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}, sctpsock.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	acc := make(chan *sctpsock.Conn, 1)
	go func() { c, _ := l.Accept(); acc <- c }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := sctpsock.Dial(ctx, nil, l.Addrs(), sctpsock.Options{NoDelay: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := <-acc
	defer s.Close()
	ci, _ := InodeOf(c)
	si, _ := InodeOf(s)
	t.Logf("listener %v client inode %d server inode %d", l.Addrs(), ci, si)
	for i := 0; i < 100; i++ {
		if err := c.WriteMsg(sctpsock.Msg{Data: make([]byte, 100)}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond)
	for _, f := range []string{"/proc/sys/net/sctp/sndbuf_policy", "/proc/sys/net/sctp/rcvbuf_policy", "/proc/sys/net/sctp/sctp_mem", "/proc/sys/net/sctp/sctp_rmem", "/proc/sys/net/sctp/sctp_wmem", "/proc/sys/net/core/rmem_max", "/proc/sys/net/core/wmem_max", "/proc/self/cgroup", "/proc/self/mountinfo"} {
		b, err := os.ReadFile(f)
		t.Logf("%s: %q %v", f, b, err)
	}
	es, err := Dump()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		t.Logf("%s %s ino=%d src=%v dst=%v rq=%d wq=%d locals=%v peers=%v", e.Kind, e.StateName(), e.Inode, e.Src, e.Dst, e.RQueue, e.WQueue, e.Locals, e.Peers)
		if e.Mem != nil {
			t.Logf("   mem %+v", *e.Mem)
		}
		if e.Info != nil {
			t.Logf("   info %+v", *e.Info)
		}
	}
	req := nl.NewNetlinkRequest(nl.SOCK_DIAG_BY_FAMILY, unix.NLM_F_DUMP)
	req.AddRawData(request(afInet))
	msgs, err := req.Execute(unix.NETLINK_SOCK_DIAG, nl.SOCK_DIAG_BY_FAMILY)
	t.Logf("nl Execute: %d rows, err %v", len(msgs), err)
	for _, m := range msgs {
		t.Logf("HEX %x", m)
	}
}
