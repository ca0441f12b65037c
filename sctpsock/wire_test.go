package sctpsock

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
)

// cmsg builds one control message as the kernel lays it out.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, cmsgAlign(cmsgHdrLen+len(data)))
	if sizeofSizeT == 8 {
		binary.NativeEndian.PutUint64(b, uint64(cmsgHdrLen+len(data)))
	} else {
		binary.NativeEndian.PutUint32(b, uint32(cmsgHdrLen+len(data)))
	}
	binary.NativeEndian.PutUint32(b[sizeofSizeT:], uint32(level))
	binary.NativeEndian.PutUint32(b[sizeofSizeT+4:], uint32(typ))
	copy(b[cmsgHdrLen:], data)
	return b
}

func rcvInfoBytes(stream, flags uint16, ppid []byte) []byte {
	d := make([]byte, rcvInfoLen)
	binary.NativeEndian.PutUint16(d, stream)
	binary.NativeEndian.PutUint16(d[4:], flags)
	copy(d[8:12], ppid)
	binary.NativeEndian.PutUint32(d[24:], 7)
	return d
}

func TestParseRcvInfo(t *testing.T) {
	info := cmsg(ipprotoSCTP, cmsgRcvInfo, rcvInfoBytes(5, sctpUnordered, []byte{0, 0, 0, 46}))
	other := cmsg(0, 1, []byte{1, 2, 3, 4, 5})
	tests := []struct {
		name    string
		oob     []byte
		ok      bool
		wantErr string
	}{
		{"empty", nil, false, ""},
		{"only rcvinfo", info, true, ""},
		{"after another cmsg", append(append([]byte(nil), other...), info...), true, ""},
		{"other only", other, false, ""},
		{"short header", info[:cmsgHdrLen-1], false, ""},
		{"length past end", info[:cmsgHdrLen+4], false, "outside"},
		{"short rcvinfo", cmsg(ipprotoSCTP, cmsgRcvInfo, make([]byte, 10)), false, "SCTP_RCVINFO: length 10 < 28"},
		{"zero length", make([]byte, 32), false, "outside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := parseRcvInfo(tt.oob)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || ok != tt.ok {
				t.Fatalf("ok, err = %v, %v; want %v, nil", ok, err, tt.ok)
			}
			if ok && (got.Stream != 5 || got.PPID != 46 || got.Flags != sctpUnordered || got.AssocID != 7) {
				t.Fatalf("got %+v", got)
			}
		})
	}
}

func TestPutSndInfo(t *testing.T) {
	b := make([]byte, sndInfoSpace)
	n := putSndInfo(b, 9, sctpUnordered, 0x01020304)
	if n != sndInfoSpace || cmsgLen(b) != uint64(cmsgHdrLen+sndInfoLen) {
		t.Fatalf("n = %d, cmsg_len = %d", n, cmsgLen(b))
	}
	d := b[cmsgHdrLen:]
	if binary.NativeEndian.Uint16(d) != 9 || binary.NativeEndian.Uint16(d[2:]) != sctpUnordered {
		t.Fatalf("sid/flags wrong: % x", d)
	}
	if string(d[4:8]) != "\x01\x02\x03\x04" {
		t.Fatalf("ppid bytes % x, want 01 02 03 04 (network order)", d[4:8])
	}
}

func sockaddr4(ip [4]byte, port uint16) []byte {
	b := make([]byte, sockaddrInetLen)
	binary.NativeEndian.PutUint16(b, afInet)
	binary.BigEndian.PutUint16(b[2:], port)
	copy(b[4:], ip[:])
	return b
}

func sockaddr6(ip [16]byte, port uint16, scope uint32) []byte {
	b := make([]byte, sockaddrInet6Len)
	binary.NativeEndian.PutUint16(b, afInet6)
	binary.BigEndian.PutUint16(b[2:], port)
	copy(b[8:], ip[:])
	binary.NativeEndian.PutUint32(b[24:], scope)
	return b
}

func TestParseSockaddr(t *testing.T) {
	mapped := netip.MustParseAddr("::ffff:192.0.2.1").As16()
	tests := []struct {
		name    string
		b       []byte
		want    string
		wantErr string
	}{
		{"v4", sockaddr4([4]byte{192, 0, 2, 10}, 3868), "192.0.2.10:3868", ""},
		{"v6", sockaddr6(netip.MustParseAddr("2001:db8::1").As16(), 3868, 0), "[2001:db8::1]:3868", ""},
		{"v6 scope", sockaddr6(netip.MustParseAddr("fe80::1").As16(), 1, 3), "[fe80::1%3]:1", ""},
		{"v4 mapped", sockaddr6(mapped, 2905, 0), "192.0.2.1:2905", ""},
		{"short v4", sockaddr4([4]byte{}, 1)[:15], "", "sockaddr_in: length 15 < 16"},
		{"short v6", sockaddr6([16]byte{}, 1, 0)[:20], "", "sockaddr_in6: length 20 < 28"},
		{"unknown family", make([]byte, 16), "", "unknown address family 0"},
		{"empty", nil, "", "length 0 < 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := parseSockaddr(tt.b)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("got %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestParseAddrs(t *testing.T) {
	b := append(sockaddr4([4]byte{127, 0, 0, 1}, 9), sockaddr6(netip.IPv6Loopback().As16(), 9, 0)...)
	got, err := parseAddrs(b, 2)
	if err != nil || len(got) != 2 || got[0].String() != "127.0.0.1:9" || got[1].String() != "[::1]:9" {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := parseAddrs(b, 3); err == nil {
		t.Fatal("3 addresses in 44 bytes: want an error")
	}
	if _, err := parseAddrs(b, -1); err == nil {
		t.Fatal("-1 addresses: want an error")
	}
}

func FuzzParseRcvInfo(f *testing.F) {
	f.Add(cmsg(ipprotoSCTP, cmsgRcvInfo, rcvInfoBytes(1, 0, []byte{0, 0, 0, 46})))
	f.Add(cmsg(0, 1, []byte{1}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		info, ok, err := parseRcvInfo(b)
		if err != nil && ok {
			t.Fatalf("ok with error %v", err)
		}
		if !ok && info != (rcvInfo{}) {
			t.Fatalf("not ok but info %+v", info)
		}
	})
}

func FuzzParseAddrs(f *testing.F) {
	f.Add(append(sockaddr4([4]byte{127, 0, 0, 1}, 9), sockaddr6([16]byte{15: 1}, 9, 2)...), 2)
	f.Add([]byte{2, 0}, 1)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		addrs, err := parseAddrs(b, n)
		if err == nil && len(addrs) != n {
			t.Fatalf("%d addresses, asked for %d", len(addrs), n)
		}
	})
}
