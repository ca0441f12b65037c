package sctpsock

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"strconv"
)

// Linux ABI values this file decodes without importing platform packages,
// so the decoders build, test and fuzz anywhere.
const (
	afInet  = 2  // AF_INET
	afInet6 = 10 // AF_INET6

	ipprotoSCTP         = 132   // IPPROTO_SCTP, also SOL_SCTP
	cmsgSndInfo         = 2     // SCTP_SNDINFO
	cmsgRcvInfo         = 3     // SCTP_RCVINFO
	sctpUnordered       = 1     // SCTP_UNORDERED
	sctpSackImmediately = 8     // SCTP_SACK_IMMEDIATELY (RFC 7053): the receiver SACKs this message at once
	sctpAbort           = 4     // SCTP_ABORT (enum sctp_sinfo_flags): send ABORT, end the association
	sctpEOF             = 0x200 // SCTP_EOF = MSG_FIN: start a graceful SHUTDOWN
	ssfDataSent         = 1     // SCTP_DATA_SENT (enum sctp_ssf_flags)

	sockaddrInetLen  = 16
	sockaddrInet6Len = 28
	sndInfoLen       = 16 // struct sctp_sndinfo
	rcvInfoLen       = 28 // struct sctp_rcvinfo
)

// struct cmsghdr is {size_t len; int level; int type} with data aligned to
// size_t.
const (
	sizeofSizeT = bits.UintSize / 8
	cmsgHdrLen  = (sizeofSizeT + 8 + sizeofSizeT - 1) &^ (sizeofSizeT - 1)
)

func cmsgAlign(n int) int { return (n + sizeofSizeT - 1) &^ (sizeofSizeT - 1) }

// sndInfoSpace is CMSG_SPACE(sizeof(struct sctp_sndinfo)).
const sndInfoSpace = cmsgHdrLen + (sndInfoLen+sizeofSizeT-1)&^(sizeofSizeT-1)

// rcvInfo is struct sctp_rcvinfo.
type rcvInfo struct {
	Stream  uint16
	SSN     uint16
	Flags   uint16
	PPID    uint32 // network byte order on the wire, read as such
	TSN     uint32
	CumTSN  uint32
	Context uint32
	AssocID int32
}

// parseRcvInfo finds the SCTP_RCVINFO control message in oob, as recvmsg
// filled it. ok is false when there is none.
func parseRcvInfo(oob []byte) (info rcvInfo, ok bool, err error) {
	for len(oob) >= cmsgHdrLen {
		l := cmsgLen(oob)
		if l < cmsgHdrLen || uint64(l) > uint64(len(oob)) {
			return rcvInfo{}, false, fmt.Errorf("control message: length %d outside [%d, %d]", l, cmsgHdrLen, len(oob))
		}
		level := int32(binary.NativeEndian.Uint32(oob[sizeofSizeT:]))
		typ := int32(binary.NativeEndian.Uint32(oob[sizeofSizeT+4:]))
		if level == ipprotoSCTP && typ == cmsgRcvInfo {
			return decodeRcvInfo(oob[cmsgHdrLen:l])
		}
		next := cmsgAlign(int(l))
		if next >= len(oob) {
			break
		}
		oob = oob[next:]
	}
	return rcvInfo{}, false, nil
}

func cmsgLen(b []byte) uint64 {
	if sizeofSizeT == 8 {
		return binary.NativeEndian.Uint64(b)
	}
	return uint64(binary.NativeEndian.Uint32(b))
}

func decodeRcvInfo(d []byte) (rcvInfo, bool, error) {
	if len(d) < rcvInfoLen {
		return rcvInfo{}, false, fmt.Errorf("SCTP_RCVINFO: length %d < %d", len(d), rcvInfoLen)
	}
	ne := binary.NativeEndian
	return rcvInfo{
		Stream:  ne.Uint16(d),
		SSN:     ne.Uint16(d[2:]),
		Flags:   ne.Uint16(d[4:]),
		PPID:    binary.BigEndian.Uint32(d[8:]),
		TSN:     ne.Uint32(d[12:]),
		CumTSN:  ne.Uint32(d[16:]),
		Context: ne.Uint32(d[20:]),
		AssocID: int32(ne.Uint32(d[24:])),
	}, true, nil
}

// putSndInfo writes an SCTP_SNDINFO control message into b, which must hold
// sndInfoSpace bytes, and returns its length.
func putSndInfo(b []byte, stream, flags uint16, ppid uint32) int {
	return putSndInfoFor(b, stream, flags, ppid, 0)
}

// putSndInfoFor is putSndInfo naming an association of a one-to-many socket
// (snd_assoc_id, after snd_context); flags may carry sctpEOF or sctpAbort.
func putSndInfoFor(b []byte, stream, flags uint16, ppid uint32, assoc int32) int {
	b = b[:sndInfoSpace]
	clear(b)
	ne := binary.NativeEndian
	if sizeofSizeT == 8 {
		ne.PutUint64(b, uint64(cmsgHdrLen+sndInfoLen))
	} else {
		ne.PutUint32(b, uint32(cmsgHdrLen+sndInfoLen))
	}
	ne.PutUint32(b[sizeofSizeT:], ipprotoSCTP)
	ne.PutUint32(b[sizeofSizeT+4:], cmsgSndInfo)
	d := b[cmsgHdrLen:]
	ne.PutUint16(d, stream)
	ne.PutUint16(d[2:], flags)
	binary.BigEndian.PutUint32(d[4:], ppid)
	ne.PutUint32(d[12:], uint32(assoc))
	return sndInfoSpace
}

// parseSockaddr decodes one struct sockaddr_in or sockaddr_in6 at the start
// of b and returns it with its length. IPv4-mapped IPv6 addresses are
// unmapped; a non-zero IPv6 scope id becomes a numeric zone.
func parseSockaddr(b []byte) (netip.AddrPort, int, error) {
	if len(b) < 2 {
		return netip.AddrPort{}, 0, fmt.Errorf("sockaddr: length %d < 2", len(b))
	}
	switch fam := binary.NativeEndian.Uint16(b); fam {
	case afInet:
		if len(b) < sockaddrInetLen {
			return netip.AddrPort{}, 0, fmt.Errorf("sockaddr_in: length %d < %d", len(b), sockaddrInetLen)
		}
		ip := netip.AddrFrom4([4]byte(b[4:8]))
		return netip.AddrPortFrom(ip, binary.BigEndian.Uint16(b[2:])), sockaddrInetLen, nil
	case afInet6:
		if len(b) < sockaddrInet6Len {
			return netip.AddrPort{}, 0, fmt.Errorf("sockaddr_in6: length %d < %d", len(b), sockaddrInet6Len)
		}
		ip := netip.AddrFrom16([16]byte(b[8:24]))
		if ip.Is4In6() {
			ip = ip.Unmap()
		} else if scope := binary.NativeEndian.Uint32(b[24:]); scope != 0 {
			ip = ip.WithZone(strconv.FormatUint(uint64(scope), 10))
		}
		return netip.AddrPortFrom(ip, binary.BigEndian.Uint16(b[2:])), sockaddrInet6Len, nil
	default:
		return netip.AddrPort{}, 0, fmt.Errorf("sockaddr: unknown address family %d", fam)
	}
}

// parseAddrs decodes n packed sockaddrs, as SCTP_GET_PEER_ADDRS and
// SCTP_GET_LOCAL_ADDRS return them.
func parseAddrs(b []byte, n int) ([]netip.AddrPort, error) {
	if n < 0 || n > len(b)/sockaddrInetLen {
		return nil, fmt.Errorf("address list: %d addresses cannot fit in %d bytes", n, len(b))
	}
	addrs := make([]netip.AddrPort, 0, n)
	for i := range n {
		a, size, err := parseSockaddr(b)
		if err != nil {
			return nil, fmt.Errorf("address list: address %d: %w", i, err)
		}
		addrs = append(addrs, a)
		b = b[size:]
	}
	return addrs, nil
}

// sndFlags are the SCTP_SNDINFO flags that send m as it asks.
func sndFlags(m Msg) uint16 {
	var flags uint16
	if m.Unordered {
		flags |= sctpUnordered
	}
	if m.SackImmediately {
		flags |= sctpSackImmediately
	}
	return flags
}
