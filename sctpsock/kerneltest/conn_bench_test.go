package kerneltest

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// BenchmarkWriteReadMsg is one WriteMsg and the ReadMsg that receives it on
// a loopback association with SCTP_NODELAY, in one goroutine: the socket
// layer's cost per relayed message, kernel included. Steady state should
// not allocate. It needs SCTP, so it runs in the VM where the host has none.
func BenchmarkWriteReadMsg(b *testing.B) {
	for _, size := range []int{100, 16 << 10} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			client, server := benchPair(b)
			buf := make([]byte, 64<<10)
			msg := sctpsock.Msg{Data: make([]byte, size), Stream: 1, PPID: 46}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := client.WriteMsg(msg); err != nil {
					b.Fatal(err)
				}
				m, err := server.ReadMsg(buf)
				for err == nil && m.Notification != nil {
					m, err = server.ReadMsg(buf)
				}
				if err != nil || len(m.Data) != size {
					b.Fatalf("read %d bytes, want %d: %v", len(m.Data), size, err)
				}
			}
		})
	}
}

// benchPair is a connected client and server Conn, closed when b ends.
func benchPair(b *testing.B) (client, server *sctpsock.Conn) {
	b.Helper()
	l, err := sctpsock.Listen([]netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}, sctpsock.Options{NoDelay: true})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan *sctpsock.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err = sctpsock.Dial(ctx, nil, l.Addrs(), sctpsock.Options{NoDelay: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { client.Close() })
	if server = <-accepted; server == nil {
		b.Fatal("accept failed")
	}
	b.Cleanup(func() { server.Close() })
	return client, server
}
