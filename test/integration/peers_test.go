package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/sctpsock"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// peer is an upstream endpoint run by the test: every accepted association is handed
// to serve in its own goroutine.
type peer struct {
	ln   *sctpsock.Listener
	addr netip.AddrPort
}

func startPeer(t *testing.T, o sctpsock.Options, serve func(*sctpsock.Conn)) *peer {
	t.Helper()
	ln, err := sctpsock.Listen([]netip.AddrPort{netip.AddrPortFrom(loopback, 0)}, o)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	p := &peer{ln: ln, addr: ln.Addrs()[0]}
	go p.accept(serve)
	t.Cleanup(func() { ln.Close() })
	return p
}

func (p *peer) accept(serve func(*sctpsock.Conn)) {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go serve(c)
	}
}

// dial connects a test client to addr.
func dial(t *testing.T, addr netip.AddrPort, o sctpsock.Options) *sctpsock.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := sctpsock.Dial(ctx, nil, []netip.AddrPort{addr}, o)
	if err != nil {
		t.Fatalf("dial %v: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readData reads the next data message, skipping notifications; Data is a copy.
func readData(c *sctpsock.Conn, buf []byte) (sctpsock.Msg, error) {
	for {
		m, err := c.ReadMsg(buf)
		if err != nil {
			return m, err
		}
		if m.Notification == nil {
			m.Data = bytes.Clone(m.Data)
			return m, nil
		}
	}
}

// readEnd reads until the association ends and returns how: io.EOF for SHUTDOWN,
// an error matching sctpsock.ErrAborted for ABORT, another error if it did not end
// within timeout. Data messages are counted. Safe in any goroutine.
func readEnd(c *sctpsock.Conn, timeout time.Duration) (int, error) {
	c.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 64<<10)
	n := 0
	for {
		m, err := c.ReadMsg(buf)
		if err != nil {
			return n, err
		}
		buf = m.Data[:cap(m.Data)]
		if m.Notification == nil {
			n++
			continue
		}
		if err := endNotified(m.Notification); err != nil {
			return n, err
		}
	}
}

// endNotified is the end an ASSOC_CHANGE tells: Linux reports an ABORT's error
// once, to the reader or a writer, so a reader whose writer got it learns of the
// ABORT from COMM_LOST; and the socket that sent SHUTDOWN learns that the
// handshake completed from SHUTDOWN_COMP only.
func endNotified(n *sctpsock.Notification) error {
	switch {
	case n.AssocChange == nil:
		return nil
	case n.AssocChange.State == sctpsock.CommLost:
		return fmt.Errorf("%v: %w", n, sctpsock.ErrAborted)
	case n.AssocChange.State == sctpsock.ShutdownComplete:
		return io.EOF
	}
	return nil
}
