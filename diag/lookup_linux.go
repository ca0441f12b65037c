package diag

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// ErrNotFound means the kernel has no association between the two addresses.
var ErrNotFound = errors.New("diag: no such association")

// Conn is a sock_diag socket for looking up associations one at a time. A full
// Dump costs the kernel time that grows with the square of the associations on
// the host (each reply batch walks its tables from the start); a Lookup costs one
// hash lookup, so a caller that knows its associations' addresses uses Lookup.
// A Conn is not safe for concurrent use.
type Conn struct {
	s *nl.NetlinkSocket
}

// Open opens a sock_diag socket.
func Open() (*Conn, error) {
	s, err := nl.Subscribe(unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, fmt.Errorf("diag: open netlink socket: %w", err)
	}
	if err := s.SetReceiveTimeout(&unix.Timeval{Sec: receiveWait}); err != nil {
		s.Close()
		return nil, fmt.Errorf("diag: open netlink socket: %w", err)
	}
	return &Conn{s: s}, nil
}

// Close closes the socket.
func (c *Conn) Close() { c.s.Close() }

// Lookup returns the association row of the association from local to peer (a
// local address it is bound to and one of the peer's addresses), with its
// memory counters and struct sctp_info; ErrNotFound if there is none.
func (c *Conn) Lookup(local, peer netip.AddrPort) (Entry, error) {
	op := fmt.Sprintf("sock_diag lookup sctp %v -> %v", local, peer)
	b, err := exactRequest(local, peer)
	if err != nil {
		return Entry{}, fmt.Errorf("%s: %w", op, err)
	}
	req := nl.NewNetlinkRequest(nl.SOCK_DIAG_BY_FAMILY, 0)
	req.AddRawData(b)
	if err := c.s.Send(req); err != nil {
		return Entry{}, fmt.Errorf("%s: send request: %w", op, err)
	}
	e, err := c.receiveOne(req.Seq)
	if err != nil {
		return Entry{}, fmt.Errorf("%s: %w", op, err)
	}
	return e, nil
}

// receiveOne reads the reply to one exact request: a row, or an error.
func (c *Conn) receiveOne(seq uint32) (Entry, error) {
	for {
		msgs, _, err := c.s.Receive()
		if err != nil {
			return Entry{}, fmt.Errorf("receive: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Seq != seq {
				continue // a late reply to an earlier request
			}
			switch m.Header.Type {
			case unix.NLMSG_ERROR:
				err := replyErr(m.Data)
				if errors.Is(err, unix.ENOENT) {
					return Entry{}, ErrNotFound
				}
				return Entry{}, fmt.Errorf("kernel: %w", err)
			case nl.SOCK_DIAG_BY_FAMILY:
				e, err := parseMessage(m.Data)
				if err != nil {
					return Entry{}, fmt.Errorf("parse reply: %w", err)
				}
				return e, nil
			}
		}
	}
}

// exactRequest builds struct inet_diag_req_v2 naming one association by its
// addresses (struct inet_diag_sockid: ports big-endian, addresses in network
// order).
func exactRequest(local, peer netip.AddrPort) ([]byte, error) {
	if local.Addr().Is4() != peer.Addr().Is4() {
		return nil, fmt.Errorf("addresses of two families")
	}
	fam := uint8(afInet6)
	if local.Addr().Is4() {
		fam = afInet
	}
	b := request(fam)
	binary.BigEndian.PutUint16(b[8:], local.Port())
	binary.BigEndian.PutUint16(b[10:], peer.Port())
	putAddr(b[12:28], local.Addr())
	putAddr(b[28:44], peer.Addr())
	return b, nil
}

func putAddr(dst []byte, a netip.Addr) {
	if a.Is4() {
		a4 := a.As4()
		copy(dst, a4[:])
		return
	}
	a16 := a.As16()
	copy(dst, a16[:])
}
