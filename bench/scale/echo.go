package main

import (
	"net/netip"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// startEcho listens on 127.0.0.1 and sends every message back, one goroutine per
// association.
func startEcho() (*sctpsock.Listener, error) {
	ln, err := sctpsock.Listen([]netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}, sctpsock.Options{NoDelay: true})
	if err != nil {
		return nil, err
	}
	go func() { // echo acceptor: ends when the listener is closed
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go echo(c) // echo: ends with its association
		}
	}()
	return ln, nil
}

func echo(c *sctpsock.Conn) {
	defer c.Close()
	buf := make([]byte, 256)
	for {
		m, err := c.ReadMsg(buf)
		if err != nil {
			return
		}
		if m.Notification != nil {
			continue
		}
		if err := c.WriteMsg(m); err != nil {
			return
		}
	}
}
