package kerneltest

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// Example_dial listens on loopback, dials it and sends one message, which
// arrives whole with its stream and PPID: the round trip sctpsock.Dial and
// sctpsock.Listen make, as sctpguard's relays use them. It lives here, not in
// sctpsock, because it needs a kernel with SCTP, which the tests of this
// package get (in the test VM if need be).
func Example_dial() {
	ln, err := sctpsock.Listen([]netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}, sctpsock.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := sctpsock.Dial(ctx, nil, ln.Addrs(), sctpsock.Options{NoDelay: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	if err := c.WriteMsg(sctpsock.Msg{Data: []byte("CER"), Stream: 0, PPID: 46}); err != nil { // 46: Diameter
		fmt.Println(err)
		return
	}

	peer, err := ln.Accept()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer peer.Close()
	buf := make([]byte, 64<<10)
	for {
		m, err := peer.ReadMsg(buf)
		if err != nil {
			fmt.Println(err)
			return
		}
		if m.Notification != nil {
			continue // the association's COMM_UP, and the like
		}
		fmt.Printf("%q on stream %d, PPID %d\n", m.Data, m.Stream, m.PPID)
		return
	}
	// Output: "CER" on stream 0, PPID 46
}
