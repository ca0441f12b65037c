package sctpsock

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// note builds a notification: header, then body, with sn_length set.
func note(typ NotificationType, flags uint16, body ...[]byte) []byte {
	b := make([]byte, snHeaderLen)
	for _, p := range body {
		b = append(b, p...)
	}
	ne := binary.NativeEndian
	ne.PutUint16(b, uint16(typ))
	ne.PutUint16(b[2:], flags)
	ne.PutUint32(b[4:], uint32(len(b)))
	return b
}

func u16(v uint16) []byte { return binary.NativeEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

func assocChangeNote(state AssocChangeState, info ...byte) []byte {
	return note(NotifyAssocChange, 0, u16(uint16(state)), u16(0), u16(10), u16(12), u32(3), info)
}

func paddrChangeNote(addr []byte, state PeerAddrState) []byte {
	storage := make([]byte, sockaddrStorageLen)
	copy(storage, addr)
	return note(NotifyPeerAddrChange, 0, storage, u32(uint32(state)), u32(0), u32(3))
}

func sendFailedEventNote(data string) []byte {
	ppid := []byte{0, 0, 0, 46}
	return note(NotifySendFailedEvent, ssfDataSent, u32(110), u16(4), u16(sctpUnordered), ppid, u32(9), u32(0), u32(3), []byte(data))
}

func TestParseNotification(t *testing.T) {
	tests := []struct {
		name  string
		b     []byte
		check func(*Notification) bool
		str   string
	}{
		{"comm up", assocChangeNote(CommUp, 1, 2), func(n *Notification) bool {
			a := n.AssocChange
			return a != nil && a.State == CommUp && a.OutStreams == 10 && a.InStreams == 12 &&
				n.AssocID == 3 && string(a.Info) == "\x01\x02"
		}, "assoc change COMM_UP"},
		{"comm lost", assocChangeNote(CommLost), func(n *Notification) bool {
			return n.AssocChange.State == CommLost
		}, "COMM_LOST"},
		{"peer addr", paddrChangeNote(sockaddr4([4]byte{192, 0, 2, 1}, 3868), AddrUnreachable), func(n *Notification) bool {
			p := n.PeerAddrChange
			return p != nil && p.Addr == netip.MustParseAddrPort("192.0.2.1:3868") && p.State == AddrUnreachable
		}, "192.0.2.1:3868 ADDR_UNREACHABLE"},
		{"shutdown", note(NotifyShutdown, 0, u32(3)), func(n *Notification) bool {
			return n.Shutdown && n.AssocID == 3
		}, "shutdown"},
		{"remote error", note(NotifyRemoteError, 0, []byte{0, 5, 0, 0}, u32(3), []byte{0, 5, 0, 4}), func(n *Notification) bool {
			return n.RemoteError != nil && n.RemoteError.Cause == 5 && len(n.RemoteError.Data) == 4
		}, "remote error cause 5"},
		{"send failed event", sendFailedEventNote("hello"), func(n *Notification) bool {
			s := n.SendFailed
			return s != nil && s.Sent && s.Error == 110 && s.Stream == 4 && s.PPID == 46 &&
				s.Unordered && s.Context == 9 && string(s.Data) == "hello" && n.AssocID == 3
		}, "send failed"},
		{"send failed old", note(NotifySendFailed, 0, u32(1), u16(2), u16(0), u16(0), u16(0),
			[]byte{0, 0, 0, 60}, make([]byte, 20), u32(3), []byte("x")), func(n *Notification) bool {
			s := n.SendFailed
			return s != nil && !s.Sent && s.Stream == 2 && s.PPID == 60 && string(s.Data) == "x"
		}, "sent false"},
		{"partial delivery", note(NotifyPartialDelivery, 0, u32(0), u32(3), u32(7), u32(8)), func(n *Notification) bool {
			p := n.PartialDelivery
			return p != nil && p.Stream == 7 && p.Seq == 8
		}, "partial delivery"},
		{"partial delivery old", note(NotifyPartialDelivery, 0, u32(0), u32(3)), func(n *Notification) bool {
			return n.PartialDelivery != nil
		}, "partial delivery"},
		{"sender dry", note(NotifySenderDry, 0, u32(3)), func(n *Notification) bool {
			return n.Type == NotifySenderDry && len(n.Raw) == 12
		}, "sender dry"},
		{"unknown", note(0x9999, 1, u32(3)), func(n *Notification) bool {
			return n.Type == 0x9999
		}, "notification 0x9999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := ParseNotification(tt.b)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(n) {
				t.Fatalf("parsed wrong: %+v", n)
			}
			if s := n.String(); !strings.Contains(s, tt.str) {
				t.Fatalf("String() = %q, want it to contain %q", s, tt.str)
			}
		})
	}
}

func TestParseNotificationErrors(t *testing.T) {
	short := assocChangeNote(CommUp)[:12]
	binary.NativeEndian.PutUint32(short[4:], 12)
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "notification: length 0 < 8 header bytes"},
		{"length past end", assocChangeNote(CommUp)[:16], "assoc change notification: header says 20 bytes, have 16"},
		{"length below header", func() []byte { b := note(NotifyShutdown, 0, u32(1)); b[4] = 3; b[5], b[6], b[7] = 0, 0, 0; return b }(), "header says 3 bytes"},
		{"assoc change short", short, "assoc change notification: length 12 < 20"},
		{"peer addr short", note(NotifyPeerAddrChange, 0, make([]byte, 100)), "peer addr change notification: length 108 < 148"},
		{"peer addr bad family", paddrChangeNote([]byte{99, 0}, 0), "unknown address family"},
		{"send failed short", note(NotifySendFailedEvent, 0, make([]byte, 10)), "send failed notification: length 18 < 32"},
		{"remote error short", note(NotifyRemoteError, 0, u16(1)), "remote error notification: length 10 < 16"},
		{"shutdown short", note(NotifyShutdown, 0), "shutdown notification: length 8 < 12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseNotification(tt.b)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseNotificationCopies(t *testing.T) {
	b := sendFailedEventNote("abc")
	n, err := ParseNotification(b)
	if err != nil {
		t.Fatal(err)
	}
	clear(b)
	if string(n.SendFailed.Data) != "abc" {
		t.Fatal("notification aliases the read buffer")
	}
}

func TestTooLargeError(t *testing.T) {
	var err error = &TooLargeError{Read: 10, Limit: 10}
	if !errors.Is(err, ErrMessageTooLarge) {
		t.Fatal("TooLargeError does not match ErrMessageTooLarge")
	}
	if !strings.Contains(err.Error(), "larger than 10 bytes") {
		t.Fatal(err)
	}
}

func FuzzParseNotification(f *testing.F) {
	f.Add(assocChangeNote(CommUp, 1))
	f.Add(paddrChangeNote(sockaddr6([16]byte{15: 1}, 1, 0), AddrConfirmed))
	f.Add(sendFailedEventNote("x"))
	f.Add(note(NotifySendFailed, 0, make([]byte, 41)))
	f.Add(note(NotifyRemoteError, 0, make([]byte, 9)))
	f.Add(note(NotifyPartialDelivery, 0, make([]byte, 16)))
	f.Add(note(NotifyShutdown, 0, u32(1)))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := ParseNotification(b)
		if err != nil {
			if n != nil {
				t.Fatal("notification with error")
			}
			return
		}
		if len(n.Raw) > len(b) || len(n.Raw) < snHeaderLen {
			t.Fatalf("Raw has %d bytes of %d", len(n.Raw), len(b))
		}
		_ = n.String()
	})
}
