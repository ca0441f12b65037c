package sctpsock

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"unsafe"

	"github.com/ishidawataru/sctp"
	"golang.org/x/sys/unix"
)

// setPathOptions applies p to the socket: to future associations before
// connect or listen, to the association of a connected socket.
func setPathOptions(fd int, p PathOptions) error { return setPathOptionsOf(fd, 0, p) }

// setPathOptionsOf is setPathOptions for association id of a one-to-many
// socket; id 0 means its future associations.
func setPathOptionsOf(fd int, id int32, p PathOptions) error {
	if p.hasRTOInfo() {
		b := p.rtoInfo()
		binary.NativeEndian.PutUint32(b[0:], uint32(id)) // srto_assoc_id
		if err := setsockopt(fd, sctp.SOL_SCTP, sctp.SCTP_RTOINFO, unsafe.Pointer(&b[0]), rtoInfoLen); err != nil {
			err = fmt.Errorf("setsockopt SCTP_RTOINFO initial %v min %v max %v: %w", p.RTOInitial, p.RTOMin, p.RTOMax, err)
			if errors.Is(err, unix.EINVAL) {
				err = fmt.Errorf("%w (the minimum may not exceed the maximum; an unset one counts at net.sctp.rto_min or rto_max)", err)
			}
			return err
		}
	}
	if p.hasPeerAddrParams() {
		b := p.paddrParams()
		binary.NativeEndian.PutUint32(b[0:], uint32(id)) // spp_assoc_id
		if err := setsockopt(fd, sctp.SOL_SCTP, sctp.SCTP_PEER_ADDR_PARAMS, unsafe.Pointer(&b[0]), paddrParamsLen); err != nil {
			return fmt.Errorf("setsockopt SCTP_PEER_ADDR_PARAMS heartbeat %v path max retransmissions %d: %w",
				p.HeartbeatInterval, p.MaxRetransmissions, err)
		}
	}
	return nil
}

// SetPathOptions applies p to the association now, to every path it has.
// Zero fields leave a setting as it is. An accepted association has the
// settings of the Listener's Options already; this is for changing them.
func (c *Conn) SetPathOptions(p PathOptions) error {
	var serr error
	if err := c.rc.Control(func(fd uintptr) { serr = setPathOptions(int(fd), p) }); err != nil {
		return c.opErr("path options", err)
	}
	if serr != nil {
		return c.opErr("path options", serr)
	}
	return nil
}

// Paths returns the state of every path of the association, one per peer
// address (SCTP_GET_PEER_ADDR_INFO), in the kernel's order of addresses.
func (c *Conn) Paths() ([]PathInfo, error) {
	addrs, err := c.PeerAddrs()
	if err != nil {
		return nil, err
	}
	out := make([]PathInfo, 0, len(addrs))
	for _, a := range addrs {
		var p PathInfo
		var perr error
		err := c.rc.Control(func(fd uintptr) { p, perr = pathInfoOf(int(fd), 0, a) })
		if err == nil {
			err = perr
		}
		if errors.Is(err, unix.EINVAL) {
			continue // the address went away since PeerAddrs
		}
		if err != nil {
			return nil, c.opErr("path "+a.String(), err)
		}
		out = append(out, p)
	}
	return out, nil
}

// pathInfoOf reads SCTP_GET_PEER_ADDR_INFO for the path to addr of association
// id (0 on a one-to-one socket).
func pathInfoOf(fd int, id int32, addr netip.AddrPort) (PathInfo, error) {
	b := paddrInfoQuery(addr)
	binary.NativeEndian.PutUint32(b[0:], uint32(id)) // spinfo_assoc_id
	n := uint32(paddrInfoLen)
	if err := getsockopt(fd, sctp.SOL_SCTP, sctp.SCTP_GET_PEER_ADDR_INFO, unsafe.Pointer(&b[0]), &n); err != nil {
		return PathInfo{}, err
	}
	return parsePaddrInfo(b[:n])
}

// primLen is the size of struct sctp_prim: an association id and a
// sockaddr_storage, packed with 4-byte alignment.
const primLen = 4 + sockaddrStorageLen

// SetPrimary makes the path to addr, one of the peer's addresses, the primary
// path of the association (SCTP_PRIMARY_ADDR): new data goes there while it is
// usable.
func (c *Conn) SetPrimary(addr netip.AddrPort) error {
	var b [primLen]byte
	putSockaddr(b[4:], addr)
	var serr error
	if err := c.rc.Control(func(fd uintptr) {
		serr = setsockopt(int(fd), sctp.SOL_SCTP, sctp.SCTP_PRIMARY_ADDR, unsafe.Pointer(&b[0]), primLen)
	}); err != nil {
		return c.opErr("primary path", err)
	}
	if serr != nil {
		return c.opErr("primary path "+addr.String(), serr)
	}
	return nil
}

// DisableHeartbeat stops the kernel sending heartbeats to addr, one of the
// peer's addresses (SCTP_PEER_ADDR_PARAMS with SPP_HB_DISABLE for it alone). A
// path the peer listed in its INIT but that was never confirmed then stays
// unconfirmed, and the kernel sends it nothing: a transparent relay uses it
// for the addresses of a front association that NAT does not translate.
func (c *Conn) DisableHeartbeat(addr netip.AddrPort) error {
	b := noHeartbeatParams(addr)
	var serr error
	if err := c.rc.Control(func(fd uintptr) {
		serr = setsockopt(int(fd), sctp.SOL_SCTP, sctp.SCTP_PEER_ADDR_PARAMS, unsafe.Pointer(&b[0]), paddrParamsLen)
	}); err != nil {
		return c.opErr("disable heartbeat", err)
	}
	if serr != nil {
		return c.opErr("disable heartbeat to "+addr.String(), serr)
	}
	return nil
}
