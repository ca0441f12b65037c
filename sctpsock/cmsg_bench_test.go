package sctpsock

import "testing"

// The per-message work of the socket layer that does not touch the kernel:
// the SCTP_SNDINFO control message WriteMsg builds before every sendmsg, the
// SCTP_RCVINFO one ReadMsg parses after every recvmsg, and the notification
// a relay's sockets get after every burst (SENDER_DRY). The first two should
// not allocate.
//
// The package's TestMain runs the test binary in the VM when this host has
// no SCTP, so these run there too (under TCG: ns/op is several times native,
// allocs/op is exact).

var (
	sinkInfo  rcvInfo
	sinkNote  *Notification
	sinkBytes int
)

func BenchmarkPutSndInfo(b *testing.B) {
	var oob [sndInfoSpace]byte
	b.ReportAllocs()
	for b.Loop() {
		sinkBytes += putSndInfo(oob[:], 5, sctpUnordered, 46)
	}
}

// BenchmarkParseRcvInfo parses SCTP_RCVINFO as recvmsg leaves it, alone and
// behind another control message.
func BenchmarkParseRcvInfo(b *testing.B) {
	info := cmsg(ipprotoSCTP, cmsgRcvInfo, rcvInfoBytes(5, sctpUnordered, []byte{0, 0, 0, 46}))
	other := cmsg(0, 1, []byte{1, 2, 3, 4, 5})
	for _, bc := range []struct {
		name string
		oob  []byte
	}{
		{"alone", info},
		{"second", append(append([]byte(nil), other...), info...)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var oob [256]byte // as readState.oob
			n := copy(oob[:], bc.oob)
			b.ReportAllocs()
			for b.Loop() {
				got, ok, err := parseRcvInfo(oob[:n])
				if !ok || err != nil {
					b.Fatalf("parseRcvInfo: ok %v, err %v", ok, err)
				}
				sinkInfo = got
			}
		})
	}
}

// BenchmarkParseNotification decodes the notifications a relay sees in
// steady state. ParseNotification copies the notification (Notification.Raw
// is owned), so it allocates by design; this shows how much.
func BenchmarkParseNotification(b *testing.B) {
	for _, bc := range []struct {
		name string
		raw  []byte
	}{
		{"sender_dry", note(NotifySenderDry, 0, u32(3))},
		{"assoc_change", assocChangeNote(CommUp, 1, 2)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				n, err := ParseNotification(bc.raw)
				if err != nil {
					b.Fatal(err)
				}
				sinkNote = n
			}
		})
	}
}
