package sctpsock

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseOriginalDst(t *testing.T) {
	v4 := make([]byte, unix.SizeofSockaddrInet4)
	binary.NativeEndian.PutUint16(v4, unix.AF_INET)
	binary.BigEndian.PutUint16(v4[2:], 3868)
	copy(v4[4:], []byte{192, 0, 2, 10})
	v6 := make([]byte, unix.SizeofSockaddrInet6)
	binary.NativeEndian.PutUint16(v6, unix.AF_INET6)
	binary.BigEndian.PutUint16(v6[2:], 2905)
	a6 := netip.MustParseAddr("2001:db8::10").As16()
	copy(v6[8:], a6[:])
	mapped := make([]byte, unix.SizeofSockaddrInet6)
	copy(mapped, v6)
	m := netip.MustParseAddr("::ffff:198.51.100.7").As16()
	copy(mapped[8:], m[:])
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"ipv4", v4, "192.0.2.10:3868"},
		{"ipv6", v6, "[2001:db8::10]:2905"},
		{"ipv4-mapped", mapped, "198.51.100.7:2905"},
		{"short", v4[:6], ""},
		{"ipv6 truncated", v6[:16], ""},
	} {
		got, err := parseOriginalDst(tc.in)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("%s: got %v, want an error", tc.name, got)
		case tc.want != "" && (err != nil || got.String() != tc.want):
			t.Errorf("%s: got %v, %v; want %s", tc.name, got, err, tc.want)
		}
	}
}
