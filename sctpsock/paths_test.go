package sctpsock

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

func TestPaddrParamsLayout(t *testing.T) {
	p := PathOptions{HeartbeatInterval: 1500 * time.Millisecond, MaxRetransmissions: 3}
	b := p.paddrParams()
	ne := binary.NativeEndian
	// struct sctp_paddrparams, packed: assoc_id 0, address 4, hbinterval 132,
	// pathmaxrxt 136, pathmtu 138, sackdelay 142, flags 146.
	if got := ne.Uint32(b[132:]); got != 1500 {
		t.Errorf("spp_hbinterval %d, want 1500", got)
	}
	if got := ne.Uint16(b[136:]); got != 3 {
		t.Errorf("spp_pathmaxrxt %d, want 3", got)
	}
	if got := ne.Uint32(b[146:]); got != sppHBEnable {
		t.Errorf("spp_flags %#x, want SPP_HB_ENABLE", got)
	}
	for i, c := range b[:132] {
		if c != 0 {
			t.Fatalf("byte %d of assoc id and address is %d, want 0 (all paths)", i, c)
		}
	}
	if b := (PathOptions{MaxRetransmissions: 2}).paddrParams(); ne.Uint32(b[146:]) != 0 || ne.Uint32(b[132:]) != 0 {
		t.Error("no heartbeat interval given, but the heartbeat is changed")
	}
}

func TestRTOInfoLayout(t *testing.T) {
	b := PathOptions{RTOInitial: 200 * time.Millisecond, RTOMin: 100 * time.Millisecond, RTOMax: time.Second}.rtoInfo()
	ne := binary.NativeEndian
	// struct sctp_rtoinfo: assoc_id, initial, max, min.
	if ne.Uint32(b[0:]) != 0 || ne.Uint32(b[4:]) != 200 || ne.Uint32(b[8:]) != 1000 || ne.Uint32(b[12:]) != 100 {
		t.Errorf("rtoinfo % x", b)
	}
}

func TestMillis(t *testing.T) {
	for d, want := range map[time.Duration]uint32{
		0: 0, -time.Second: 0, 1500 * time.Microsecond: 1, 2 * time.Second: 2000, 100 * 24 * time.Hour * 365: 1<<32 - 1,
	} {
		if got := millis(d); got != want {
			t.Errorf("millis(%v) = %d, want %d", d, got, want)
		}
	}
}

func TestPaddrInfoRoundTrip(t *testing.T) {
	for _, s := range []string{"192.0.2.10:3868", "[2001:db8::1]:2905", "[fe80::1%3]:1", "[::ffff:10.1.0.2]:9"} {
		addr := netip.MustParseAddrPort(s)
		b := paddrInfoQuery(addr)
		off := 4 + sockaddrStorageLen
		ne := binary.NativeEndian
		ne.PutUint32(b[off:], uint32(PathPF))
		ne.PutUint32(b[off+4:], 4380)
		ne.PutUint32(b[off+8:], 12)
		ne.PutUint32(b[off+12:], 300)
		ne.PutUint32(b[off+16:], 1500)
		p, err := parsePaddrInfo(b[:])
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		want := PathInfo{Addr: netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port()), State: PathPF, Cwnd: 4380,
			SRTT: 12 * time.Millisecond, RTO: 300 * time.Millisecond, MTU: 1500}
		if p != want {
			t.Errorf("%s: got %+v, want %+v", s, p, want)
		}
	}
	if _, err := parsePaddrInfo(make([]byte, paddrInfoLen-1)); err == nil {
		t.Error("short sctp_paddrinfo: want an error")
	}
	if _, err := parsePaddrInfo(make([]byte, paddrInfoLen)); err == nil {
		t.Error("sctp_paddrinfo with address family 0: want an error")
	}
}

func FuzzParsePaddrInfo(f *testing.F) {
	b := paddrInfoQuery(netip.MustParseAddrPort("10.1.0.2:3868"))
	f.Add(b[:])
	b6 := paddrInfoQuery(netip.MustParseAddrPort("[2001:db8::1]:1"))
	f.Add(b6[:])
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parsePaddrInfo(b)
		if err == nil && !p.Addr.IsValid() {
			t.Fatal("no error but no address")
		}
		_ = p.State.String()
	})
}
