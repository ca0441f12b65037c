package sctpsock

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// soOriginalDst is SO_ORIGINAL_DST on SOL_IP and IP6T_SO_ORIGINAL_DST on
// SOL_IPV6: both are 80.
const soOriginalDst = 80

// ErrNoOriginalDst is returned by OriginalDst when conntrack holds no entry
// for the association's first path: the association reached the socket
// without passing netfilter's connection tracking (nf_conntrack not loaded, or
// a raw-table notrack rule matched it).
var ErrNoOriginalDst = errors.New("sctpsock: no conntrack entry for the association")

// OriginalDst returns the destination the peer addressed the association's
// INIT to before netfilter's NAT (DNAT or REDIRECT) sent it to this socket:
// getsockopt SO_ORIGINAL_DST (IPv4) or IP6T_SO_ORIGINAL_DST (IPv6) on the
// accepted socket. The kernel looks conntrack up by the socket's bound address
// and port and its peer's primary address and port, so the listener must be
// bound to the one address the rules DNAT to (not a wildcard). An
// association that was not translated returns the socket's own address.
func (c *Conn) OriginalDst() (netip.AddrPort, error) {
	var ap netip.AddrPort
	var oerr error
	if err := c.rc.Control(func(fd uintptr) { ap, oerr = originalDst(int(fd)) }); err != nil {
		return ap, c.opErr("original destination", err)
	}
	if oerr != nil {
		return ap, c.opErr("original destination", oerr)
	}
	return ap, nil
}

func originalDst(fd int) (netip.AddrPort, error) {
	dom, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("getsockopt SO_DOMAIN: %w", err)
	}
	var raw [unix.SizeofSockaddrInet6]byte // struct sockaddr_in6, the larger
	level, n := unix.SOL_IP, uint32(unix.SizeofSockaddrInet4)
	if dom == unix.AF_INET6 {
		level, n = unix.SOL_IPV6, uint32(unix.SizeofSockaddrInet6)
	}
	if err := getsockopt(fd, level, soOriginalDst, unsafe.Pointer(&raw[0]), &n); err != nil {
		switch {
		case errors.Is(err, unix.ENOENT):
			return netip.AddrPort{}, ErrNoOriginalDst
		case errors.Is(err, unix.ENOPROTOOPT):
			return netip.AddrPort{}, fmt.Errorf("getsockopt SO_ORIGINAL_DST: the kernel has no conntrack for this family (modprobe nf_conntrack): %w", err)
		}
		return netip.AddrPort{}, fmt.Errorf("getsockopt SO_ORIGINAL_DST: %w", err)
	}
	return parseOriginalDst(raw[:n])
}

// parseOriginalDst decodes the struct sockaddr_in or sockaddr_in6 that
// SO_ORIGINAL_DST fills in; the port is in network byte order.
func parseOriginalDst(b []byte) (netip.AddrPort, error) {
	if len(b) < 8 {
		return netip.AddrPort{}, fmt.Errorf("SO_ORIGINAL_DST: %d bytes, too short for an address", len(b))
	}
	fam := binary.NativeEndian.Uint16(b[0:2])
	port := binary.BigEndian.Uint16(b[2:4])
	switch {
	case fam == unix.AF_INET:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), port), nil
	case fam == unix.AF_INET6 && len(b) >= unix.SizeofSockaddrInet6:
		a := netip.AddrFrom16([16]byte(b[8:24])).Unmap()
		return netip.AddrPortFrom(a, port), nil
	}
	return netip.AddrPort{}, fmt.Errorf("SO_ORIGINAL_DST: address family %d in %d bytes", fam, len(b))
}
