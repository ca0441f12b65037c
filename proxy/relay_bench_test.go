package proxy

import (
	"context"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sctpguard/sctpguard/config"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// BenchmarkRelay relays b.N messages from a client through a Server to a peer
// that reads them, over real loopback associations: the whole hot path (read,
// charge, write, release) with allocations per relayed message.
func BenchmarkRelay(b *testing.B) {
	for _, size := range []int{100, 16 << 10} {
		b.Run(sizeName(size), func(b *testing.B) { benchRelay(b, size) })
	}
}

func sizeName(n int) string {
	if n >= 1024 {
		return itoa(n>>10) + "KiB"
	}
	return itoa(n) + "B"
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func benchRelay(b *testing.B, size int) {
	loop := netip.MustParseAddrPort("127.0.0.1:0")
	peer, err := sctpsock.Listen([]netip.AddrPort{loop}, sctpsock.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer peer.Close()
	got := make(chan int, 1)
	go func() { // sink: counts what arrives until the association ends
		c, err := peer.Accept()
		if err != nil {
			got <- 0
			return
		}
		defer c.Close()
		got <- drainCount(c)
	}()
	cfg := config.Default()
	rc := config.DefaultRelay("bench")
	rc.Listen, rc.Upstream = []netip.AddrPort{loop}, peer.Addrs()
	rc.Quota.Association = 4 << 20
	cfg.Relays = []config.Relay{rc}
	srv := NewServer(cfg, hclog.NewNullLogger())
	if err := srv.Listen(); err != nil {
		b.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	defer func() { stop(); <-served }()
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := sctpsock.Dial(dctx, nil, srv.Relays()[0].Addrs(), sctpsock.Options{NoDelay: true})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg := sctpsock.Msg{Data: make([]byte, size), PPID: 1}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := c.WriteMsg(msg); err != nil {
			b.Fatal(err)
		}
	}
	c.Shutdown()
	if n := <-got; n != b.N {
		b.Fatalf("the peer received %d of %d messages", n, b.N)
	}
}

// drainCount reads data messages until the association ends.
func drainCount(c *sctpsock.Conn) int {
	buf := make([]byte, 64<<10)
	n := 0
	for {
		m, err := c.ReadMsg(buf)
		if err == io.EOF || err != nil {
			return n
		}
		if m.Notification == nil {
			n++
		}
	}
}
