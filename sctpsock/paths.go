package sctpsock

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"time"
)

// PathOptions tunes how the kernel watches each path (peer address) of an
// association and how fast it gives up on one. With several peer addresses,
// a path whose retransmission timer expires more than net.sctp.pf_retrans
// times (0 by default) is marked potentially failed and new data goes on
// another path; after MaxRetransmissions it is inactive. The kernel keeps
// sending heartbeats to a failed path and uses it again once one is
// answered. Failover therefore takes about one RTO (RTOMin to RTOMax), the
// return of a path about HeartbeatInterval + RTO.
//
// Durations are whole milliseconds (finer parts are dropped); the kernel
// keeps some in jiffies, so one read back may be rounded up to 4 ms at
// HZ=250. Every zero field keeps the kernel's default from net.sctp.*
// (Linux: heartbeats every 30s, 5 path retransmissions, RTO initial 3s,
// min 1s, max 60s).
type PathOptions struct {
	// HeartbeatInterval is the time between heartbeats on an idle path
	// (SCTP_PEER_ADDR_PARAMS spp_hbinterval, with SPP_HB_ENABLE).
	HeartbeatInterval time.Duration
	// MaxRetransmissions is how many consecutive retransmissions on a path
	// make it inactive (spp_pathmaxrxt).
	MaxRetransmissions uint16
	// RTOInitial, RTOMin and RTOMax bound the retransmission timeout
	// (SCTP_RTOINFO). The kernel refuses a minimum above the maximum,
	// counting an unset one at its default.
	RTOInitial, RTOMin, RTOMax time.Duration
}

// IsZero reports whether p changes nothing.
func (p PathOptions) IsZero() bool { return p == PathOptions{} }

// String describes the settings, for errors and logs.
func (p PathOptions) String() string {
	return fmt.Sprintf("heartbeat %v, path max retransmissions %d, rto initial %v min %v max %v",
		p.HeartbeatInterval, p.MaxRetransmissions, p.RTOInitial, p.RTOMin, p.RTOMax)
}

func (p PathOptions) hasPeerAddrParams() bool {
	return p.HeartbeatInterval > 0 || p.MaxRetransmissions > 0
}

func (p PathOptions) hasRTOInfo() bool { return p.RTOInitial > 0 || p.RTOMin > 0 || p.RTOMax > 0 }

// Sizes of the structs the path options are set with (include/uapi/linux/sctp.h).
const (
	// paddrParamsLen is struct sctp_paddrparams (packed, aligned(4)) up to
	// spp_flags: the size every Linux accepts (4.17 and later also take the
	// longer form with spp_ipv6_flowlabel and spp_dscp).
	paddrParamsLen = 152
	rtoInfoLen     = 16 // struct sctp_rtoinfo
	paddrInfoLen   = 152
	sppHBEnable    = 1 // SPP_HB_ENABLE
	sppHBDisable   = 2 // SPP_HB_DISABLE
)

// noHeartbeatParams encodes struct sctp_paddrparams that disables heartbeats
// to addr alone, leaving every other setting unchanged.
func noHeartbeatParams(addr netip.AddrPort) [paddrParamsLen]byte {
	var b [paddrParamsLen]byte
	putSockaddr(b[4:], addr)
	binary.NativeEndian.PutUint32(b[146:], sppHBDisable) // spp_flags
	return b
}

// paddrParams encodes struct sctp_paddrparams for all paths of the
// association (or of future associations, before connect): address zero,
// heartbeat interval in ms with SPP_HB_ENABLE when set, path max
// retransmissions; other fields zero, meaning unchanged.
func (p PathOptions) paddrParams() [paddrParamsLen]byte {
	var b [paddrParamsLen]byte
	ne := binary.NativeEndian
	// spp_assoc_id 0, spp_address zero (128 bytes at 4)
	if p.HeartbeatInterval > 0 {
		ne.PutUint32(b[132:], millis(p.HeartbeatInterval))
		ne.PutUint32(b[146:], sppHBEnable) // spp_flags
	}
	ne.PutUint16(b[136:], p.MaxRetransmissions) // spp_pathmaxrxt; 0 leaves it
	// spp_pathmtu at 138 and spp_sackdelay at 142 stay 0: unchanged
	return b
}

// rtoInfo encodes struct sctp_rtoinfo: assoc id 0, initial, max, min in ms;
// zero leaves a value unchanged.
func (p PathOptions) rtoInfo() [rtoInfoLen]byte {
	var b [rtoInfoLen]byte
	ne := binary.NativeEndian
	ne.PutUint32(b[4:], millis(p.RTOInitial))
	ne.PutUint32(b[8:], millis(p.RTOMax))
	ne.PutUint32(b[12:], millis(p.RTOMin))
	return b
}

// millis is d in whole milliseconds, saturated to what the kernel's u32 holds.
func millis(d time.Duration) uint32 {
	return uint32(min(max(d.Milliseconds(), 0), 1<<32-1))
}

// paddrInfoQuery encodes struct sctp_paddrinfo asking for the path to addr.
func paddrInfoQuery(addr netip.AddrPort) [paddrInfoLen]byte {
	var b [paddrInfoLen]byte
	putSockaddr(b[4:4+sockaddrStorageLen], addr)
	return b
}

// parsePaddrInfo decodes struct sctp_paddrinfo as SCTP_GET_PEER_ADDR_INFO
// fills it.
func parsePaddrInfo(b []byte) (PathInfo, error) {
	if len(b) < paddrInfoLen {
		return PathInfo{}, fmt.Errorf("sctp_paddrinfo: length %d < %d", len(b), paddrInfoLen)
	}
	addr, _, err := parseSockaddr(b[4 : 4+sockaddrStorageLen])
	if err != nil {
		return PathInfo{}, fmt.Errorf("sctp_paddrinfo: %w", err)
	}
	ne, off := binary.NativeEndian, 4+sockaddrStorageLen
	return PathInfo{
		Addr:  addr,
		State: PathState(int32(ne.Uint32(b[off:]))),
		Cwnd:  ne.Uint32(b[off+4:]),
		SRTT:  msDuration(ne.Uint32(b[off+8:])),
		RTO:   msDuration(ne.Uint32(b[off+12:])),
		MTU:   ne.Uint32(b[off+16:]),
	}, nil
}

// putSockaddr writes addr into b as struct sockaddr_in or sockaddr_in6 (with
// a numeric zone as scope id) and returns the length written. b must hold
// sockaddrInet6Len bytes.
func putSockaddr(b []byte, addr netip.AddrPort) int {
	ne := binary.NativeEndian
	ip := addr.Addr()
	if ip.Is4() || ip.Is4In6() {
		ne.PutUint16(b, afInet)
		binary.BigEndian.PutUint16(b[2:], addr.Port())
		a4 := ip.Unmap().As4()
		copy(b[4:8], a4[:])
		return sockaddrInetLen
	}
	ne.PutUint16(b, afInet6)
	binary.BigEndian.PutUint16(b[2:], addr.Port())
	a16 := ip.As16()
	copy(b[8:24], a16[:])
	scope, _ := strconv.ParseUint(ip.Zone(), 10, 32) // numeric zones only, as parseSockaddr makes them
	ne.PutUint32(b[24:], uint32(scope))
	return sockaddrInet6Len
}
