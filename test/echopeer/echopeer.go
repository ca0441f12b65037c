// Package echopeer is the echo peer of sctpguard's kernel tests (test/integration,
// test/service): an SCTP endpoint that sends every message back whole, on its
// stream, with its PPID and flags, so that a test can check what went through
// sctpguard both ways. It needs a kernel with SCTP, as those tests do.
//
//	up := echopeer.Listen(t, sctpsock.Options{NoDelay: true}) // until the test ends
//	// point a relay's upstream at up, dial the relay, write, read the echo
package echopeer

import (
	"net/netip"
	"testing"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// Serve echoes every data message of c until its association ends, then
// closes c. Events are read and not echoed.
func Serve(c *sctpsock.Conn) {
	defer c.Close()
	buf := make([]byte, 64<<10)
	for {
		m, err := c.ReadMsg(buf)
		if err != nil {
			return
		}
		buf = m.Data[:cap(m.Data)]
		if m.Notification != nil {
			continue
		}
		if err := c.WriteMsg(m); err != nil {
			return
		}
	}
}

// Listen listens on 127.0.0.1 (a port the kernel chooses) with o, serves every
// association with Serve until the test ends, and returns the address.
func Listen(t testing.TB, o sctpsock.Options) netip.AddrPort {
	t.Helper()
	ln, err := sctpsock.Listen([]netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}, o)
	if err != nil {
		t.Fatalf("echo peer: listen: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	go accept(ln) // echo-acceptor: ends when the cleanup closes ln
	return ln.Addrs()[0]
}

func accept(ln *sctpsock.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go Serve(c) // echo-serve: ends with its association
	}
}
