package sctpsock_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// ExampleDial dials a Diameter server (port 3868), giving up after 100 ms
// without an answer to its INIT. It has no Output comment, so go test compiles
// it without running it: dialing needs SCTP, and the tests that need SCTP are
// in sctpsock/kerneltest.
func ExampleDial() {
	ctx := context.Background()
	c, err := sctpsock.Dial(ctx, nil, []netip.AddrPort{netip.MustParseAddrPort("192.0.2.10:3868")},
		sctpsock.Options{NoDelay: true, InitTimeout: 100 * time.Millisecond})
	if err != nil {
		fmt.Println(strings.Contains(err.Error(), "connect 192.0.2.10:3868"))
		return
	}
	defer c.Close()
}
