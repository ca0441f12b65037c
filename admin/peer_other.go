//go:build !linux

package admin

import (
	"fmt"
	"net"
	"runtime"
)

// peerOf fails: without SO_PEERCRED the API cannot tell who is calling, and
// it refuses rather than trust everyone who can connect.
func peerOf(net.Conn) (peer, error) {
	return peer{}, fmt.Errorf("peer credentials are not supported on %s", runtime.GOOS)
}
