package sctpsock

import (
	"encoding/binary"
	"testing"
)

// TestPutSndInfoFor: the association id goes in snd_assoc_id (after snd_context),
// and SCTP_EOF and SCTP_ABORT in snd_flags, as include/uapi/linux/sctp.h lays out
// struct sctp_sndinfo.
func TestPutSndInfoFor(t *testing.T) {
	for _, tc := range []struct {
		flags uint16
		assoc int32
	}{{0, 1}, {sctpUnordered, 7}, {sctpEOF, 42}, {sctpAbort, 0x7fffffff}, {sctpEOF | sctpUnordered, -3}} {
		b := make([]byte, sndInfoSpace)
		n := putSndInfoFor(b, 3, tc.flags, 46, tc.assoc)
		d := b[cmsgHdrLen:n]
		ne := binary.NativeEndian
		if got := int32(ne.Uint32(d[12:])); got != tc.assoc {
			t.Errorf("assoc %d encoded as %d", tc.assoc, got)
		}
		if got := ne.Uint16(d[2:]); got != tc.flags {
			t.Errorf("flags %#x encoded as %#x", tc.flags, got)
		}
		if ne.Uint16(d) != 3 || binary.BigEndian.Uint32(d[4:]) != 46 || ne.Uint32(d[8:]) != 0 {
			t.Errorf("sid/ppid/context wrong: % x", d)
		}
	}
	if sctpEOF != 0x200 || sctpAbort != 1<<2 {
		t.Fatal("SCTP_EOF is MSG_FIN (0x200) and SCTP_ABORT 1<<2 on Linux")
	}
}

// TestNotificationAssocID: every notification type that names an association
// yields its id, from ParseNotification and from the fast SENDER_DRY path alike.
func TestNotificationAssocID(t *testing.T) {
	const id = 0x01020304
	for _, tc := range []struct {
		name string
		raw  []byte
	}{
		{"assoc change", note(NotifyAssocChange, 0, u16(0), u16(0), u16(1), u16(1), u32(id))},
		{"peer addr change", note(NotifyPeerAddrChange, 0, append(sockaddr4([4]byte{127, 0, 0, 1}, 9), make([]byte, sockaddrStorageLen-sockaddrInetLen)...), u32(0), u32(0), u32(id))},
		{"remote error", note(NotifyRemoteError, 0, u16(0), u16(0), u32(id))},
		{"shutdown", note(NotifyShutdown, 0, u32(id))},
		{"partial delivery", note(NotifyPartialDelivery, 0, u32(0), u32(id))},
		{"adaptation", note(NotifyAdaptation, 0, u32(9), u32(id))},
		{"authentication", note(NotifyAuthentication, 0, u16(1), u16(2), u32(0), u32(id))},
		{"sender dry", note(NotifySenderDry, 0, u32(id))},
		{"stream reset", note(NotifyStreamReset, 0, u32(id), u16(1))},
		{"assoc reset", note(NotifyAssocReset, 0, u32(id), u32(0), u32(0))},
		{"stream change", note(NotifyStreamChange, 0, u32(id), u16(1), u16(1))},
		{"send failed event", note(NotifySendFailedEvent, 0, u32(0), u16(0), u16(0), u32(0), u32(0), u32(0), u32(id))},
	} {
		n, err := ParseNotification(tc.raw)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if n.AssocID != id {
			t.Errorf("%s: AssocID %#x, want %#x", tc.name, n.AssocID, id)
		}
	}
	var c Conn
	if n := c.senderDry(note(NotifySenderDry, 0, u32(id))); n == nil || n.AssocID != id {
		t.Errorf("fast SENDER_DRY: %+v", n)
	}
	if _, ok := notificationAssocID(NotifySenderDry, note(NotifySenderDry, 0)); ok {
		t.Error("a SENDER_DRY too short to hold an id yielded one")
	}
}

// FuzzNotificationAssocID: the id of any notification, however short or long its
// claimed type, is read inside it or not at all.
func FuzzNotificationAssocID(f *testing.F) {
	f.Add(uint16(NotifySenderDry), note(NotifySenderDry, 0, u32(5)))
	f.Add(uint16(NotifyPeerAddrChange), note(NotifyPeerAddrChange, 0, make([]byte, 140)))
	f.Add(uint16(NotifyAuthentication), []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, typ uint16, b []byte) {
		id, ok := notificationAssocID(NotificationType(typ), b)
		if !ok && id != 0 {
			t.Fatalf("id %d without ok", id)
		}
		if ok && len(b) < 12 {
			t.Fatalf("id read from %d bytes", len(b))
		}
		var c Conn
		if n := c.senderDry(b); n != nil && len(n.Raw) > len(b) {
			t.Fatal("SENDER_DRY longer than its bytes")
		}
	})
}
