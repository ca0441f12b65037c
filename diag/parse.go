package diag

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"time"
)

// Wire constants from linux/inet_diag.h, linux/sock_diag.h and
// linux/socket.h. They are the same on every architecture, so they are
// spelled out here and the parser builds and is tested anywhere.
const (
	afInet  = 2
	afInet6 = 10

	sizeofDiagMsg     = 72  // struct inet_diag_msg
	sizeofSockaddr    = 128 // struct sockaddr_storage
	sizeofSkMemInfo   = 9 * 4
	sizeofSCTPInfo    = 368 // struct sctp_info, unchanged since Linux 4.7
	sizeofAttrHeader  = 4
	attrTypeMask      = 0x3fff // clears NLA_F_NESTED and NLA_F_NET_BYTEORDER
	attrInfo          = 2      // INET_DIAG_INFO
	attrSkMemInfo     = 7      // INET_DIAG_SKMEMINFO
	attrLocals        = 12     // INET_DIAG_LOCALS
	attrPeers         = 13     // INET_DIAG_PEERS
	sctpInfoPrimaryAt = 168    // offset of sctpi_p_address
)

var native = binary.NativeEndian

// parseMessage decodes one SOCK_DIAG_BY_FAMILY reply (the netlink payload:
// struct inet_diag_msg and its attributes). It never reads outside b.
func parseMessage(b []byte) (Entry, error) {
	if len(b) < sizeofDiagMsg {
		return Entry{}, fmt.Errorf("inet_diag_msg: length %d < %d", len(b), sizeofDiagMsg)
	}
	e := parseHeader(b[:sizeofDiagMsg])
	e.Kind = KindEndpoint
	err := walkAttrs(b[sizeofDiagMsg:], func(typ uint16, v []byte) error {
		return e.setAttr(typ, v)
	})
	if err != nil {
		return Entry{}, err
	}
	return e, nil
}

// parseHeader decodes struct inet_diag_msg; b holds exactly one.
func parseHeader(b []byte) Entry {
	e := Entry{
		Family:  b[0],
		State:   b[1],
		Timer:   b[2],
		Retrans: b[3],
		IfIndex: native.Uint32(b[40:]),
		Cookie:  uint64(native.Uint32(b[44:])) | uint64(native.Uint32(b[48:]))<<32,
		Expires: time.Duration(native.Uint32(b[52:])) * time.Millisecond,
		RQueue:  native.Uint32(b[56:]),
		WQueue:  native.Uint32(b[60:]),
		UID:     native.Uint32(b[64:]),
		Inode:   native.Uint32(b[68:]),
	}
	sport := binary.BigEndian.Uint16(b[4:])
	dport := binary.BigEndian.Uint16(b[6:])
	e.Src = netip.AddrPortFrom(idAddr(e.Family, b[8:24]), sport)
	e.Dst = netip.AddrPortFrom(idAddr(e.Family, b[24:40]), dport)
	return e
}

// idAddr decodes an idiag_src or idiag_dst field (16 bytes).
func idAddr(family uint8, b []byte) netip.Addr {
	if family == afInet {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16([16]byte(b)).Unmap()
}

// walkAttrs calls f for each netlink attribute in b.
func walkAttrs(b []byte, f func(typ uint16, v []byte) error) error {
	for off := 0; len(b)-off >= sizeofAttrHeader; {
		n := int(native.Uint16(b[off:]))
		typ := native.Uint16(b[off+2:]) & attrTypeMask
		if n < sizeofAttrHeader || n > len(b)-off {
			return fmt.Errorf("attribute %d at offset %d: length %d outside the %d bytes left",
				typ, sizeofDiagMsg+off, n, len(b)-off)
		}
		if err := f(typ, b[off+sizeofAttrHeader:off+n]); err != nil {
			return err
		}
		off += (n + 3) &^ 3
	}
	return nil
}

// setAttr stores one attribute; attributes it does not use are skipped.
func (e *Entry) setAttr(typ uint16, v []byte) error {
	var err error
	switch typ {
	case attrSkMemInfo:
		e.Mem, err = parseSkMemInfo(v)
	case attrInfo:
		e.Info, err = parseSCTPInfo(v)
	case attrLocals:
		e.Locals, err = parseAddrList("locals", v)
	case attrPeers:
		e.Kind = KindAssoc // the kernel sends peers on association rows only
		e.Peers, err = parseAddrList("peers", v)
	}
	return err
}

func parseSkMemInfo(v []byte) (*SkMemInfo, error) {
	if len(v) < sizeofSkMemInfo {
		return nil, fmt.Errorf("skmeminfo attribute: length %d < %d", len(v), sizeofSkMemInfo)
	}
	u := func(i int) uint32 { return native.Uint32(v[4*i:]) }
	return &SkMemInfo{
		RmemAlloc:  u(0),
		RcvBuf:     u(1),
		WmemAlloc:  u(2),
		SndBuf:     u(3),
		FwdAlloc:   u(4),
		WmemQueued: u(5),
		OptMem:     u(6),
		Backlog:    u(7),
		Drops:      u(8),
	}, nil
}

func parseSCTPInfo(v []byte) (*SCTPInfo, error) {
	if len(v) < sizeofSCTPInfo {
		return nil, fmt.Errorf("sctp_info attribute: length %d < %d", len(v), sizeofSCTPInfo)
	}
	u32 := func(off int) uint32 { return native.Uint32(v[off:]) }
	u16 := func(off int) uint16 { return native.Uint16(v[off:]) }
	u64 := func(i int) uint64 { return native.Uint64(v[56+8*i:]) } // i-th counter
	in := &SCTPInfo{
		Tag: u32(0), State: u32(4), Rwnd: u32(8),
		Unacked: u16(12), Pending: u16(14), InStreams: u16(16), OutStreams: u16(18),
		InQueue: u32(24), OutQueue: u32(28), // 20: sctpi_fragmentation_point, never set
		OverallError: u32(32), MaxBurst: u32(36), MaxSeg: u32(40),
		PeerRwnd: u32(44), PeerTag: u32(48),
		InSacks: u64(0), OutSacks: u64(1), OutPackets: u64(2), InPackets: u64(3),
		RtxChunks: u64(4), OutOfSeqTSNs: u64(5), DupChunks: u64(6), GapAckBlocks: u64(7),
		OutUnorderedChunks: u64(8), InUnorderedChunks: u64(9),
		OutOrderedChunks: u64(10), InOrderedChunks: u64(11),
		OutCtrlChunks: u64(12), InCtrlChunks: u64(13),
		PrimaryState:      int32(u32(296)),
		PrimaryCwnd:       u32(300),
		PrimaryRTO:        time.Duration(u32(308)) * time.Millisecond,
		PrimaryFlightSize: u32(336),
		NoDelay:           v[356] != 0,
	}
	p := v[sctpInfoPrimaryAt : sctpInfoPrimaryAt+sizeofSockaddr]
	if native.Uint16(p) != 0 { // endpoint rows leave the primary path zeroed
		a, err := parseSockaddr(p)
		if err != nil {
			return nil, fmt.Errorf("sctp_info attribute: primary address: %w", err)
		}
		in.PrimaryAddr = a
	}
	return in, nil
}

// parseAddrList decodes INET_DIAG_LOCALS or INET_DIAG_PEERS: an array of
// struct sockaddr_storage.
func parseAddrList(name string, v []byte) ([]netip.AddrPort, error) {
	if len(v)%sizeofSockaddr != 0 {
		return nil, fmt.Errorf("%s attribute: length %d is not a multiple of %d", name, len(v), sizeofSockaddr)
	}
	addrs := make([]netip.AddrPort, 0, len(v)/sizeofSockaddr)
	for i := 0; i < len(v); i += sizeofSockaddr {
		a, err := parseSockaddr(v[i : i+sizeofSockaddr])
		if err != nil {
			return nil, fmt.Errorf("%s attribute: address %d: %w", name, i/sizeofSockaddr, err)
		}
		addrs = append(addrs, a)
	}
	return addrs, nil
}

// parseSockaddr decodes a sockaddr_in or sockaddr_in6 at the start of a
// sockaddr_storage (b holds one).
func parseSockaddr(b []byte) (netip.AddrPort, error) {
	port := binary.BigEndian.Uint16(b[2:])
	switch fam := native.Uint16(b); fam {
	case afInet:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), port), nil
	case afInet6:
		a := netip.AddrFrom16([16]byte(b[8:24]))
		if scope := native.Uint32(b[24:]); scope != 0 {
			a = a.WithZone(strconv.FormatUint(uint64(scope), 10))
		}
		return netip.AddrPortFrom(a.Unmap(), port), nil
	default:
		return netip.AddrPort{}, fmt.Errorf("address family %d is neither AF_INET nor AF_INET6", fam)
	}
}
