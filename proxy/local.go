package proxy

import (
	"net"
	"net/netip"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// localReceiver returns the receiving side of c's association, seen from its own
// socket, when the peer of c is a socket on this host; nil for a remote peer.
func localReceiver(c leg) *sctpsock.PortPair {
	peers, err1 := c.PeerAddrs()
	locals, err2 := c.LocalAddrs()
	if err1 != nil || err2 != nil || len(peers) == 0 || len(locals) == 0 {
		return nil
	}
	if !isHostAddr(peers[0].Addr()) {
		return nil
	}
	return &sctpsock.PortPair{Local: peers[0].Port(), Remote: locals[0].Port()}
}

// isHostAddr reports whether a is an address of this host.
func isHostAddr(a netip.Addr) bool {
	if a.IsLoopback() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, ia := range addrs {
		if n, ok := ia.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap() == a.Unmap() {
				return true
			}
		}
	}
	return false
}
