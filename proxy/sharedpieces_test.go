package proxy

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/admin"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// pieceOf is a piece of a message of association id, filled with fill.
func pieceOf(id int32, size int, fill byte, more bool) sctpsock.Msg {
	return sctpsock.Msg{AssocID: id, Data: bytes.Repeat([]byte{fill}, size), PPID: 46, Stream: 3, More: more}
}

func pdAborted(id int32) sctpsock.Msg {
	n := &sctpsock.Notification{Type: sctpsock.NotifyPartialDelivery, AssocID: id,
		PartialDelivery: &sctpsock.PartialDelivery{}}
	return sctpsock.Msg{Notification: n, AssocID: id}
}

// waitHeld waits until association id's message under way is charged want bytes
// or more (want 0: nothing).
func waitHeld(t *testing.T, s *sharedSocket, id int32, want int64) {
	t.Helper()
	eventually(t, "the message under way charged", 5*time.Second, func() bool {
		h := s.pieces.held(id)
		return (want == 0 && h == 0) || (want > 0 && h >= want)
	})
}

// TestSharedPiecesInterleaved: while association 1's message arrives in pieces,
// association 2's messages are handed on at once; 1's message, once whole, comes
// out intact with its first piece's stream and PPID. What the message under way
// held was charged to the socket's account, and all of it is released once the
// message is taken.
func TestSharedPiecesInterleaved(t *testing.T) {
	s, f, _ := startShared(t, 1<<20, 8<<20)
	l1, l2 := acceptLeg(t, s, f, 1), acceptLeg(t, s, f, 2)
	f.feed <- pieceOf(1, 4000, 'a', true)
	waitHeld(t, s, 1, 4000)
	f.feed <- data(2, 10, 7)
	if m := takeData(t, l2); m.PPID != 7 || len(m.Data) != 10 {
		t.Fatalf("association 2 while 1 is under way: %d B ppid %d", len(m.Data), m.PPID)
	}
	if used := s.queuedCost(); used < 4000 {
		t.Fatalf("the socket's account holds %d, less than the 4000 B under way", used)
	}
	f.feed <- pieceOf(1, 3000, 'b', true)
	f.feed <- data(2, 20, 8)
	if m := takeData(t, l2); m.PPID != 8 {
		t.Fatalf("association 2's second message: ppid %d", m.PPID)
	}
	f.feed <- sctpsock.Msg{AssocID: 1, Data: []byte("end"), PPID: 99, Stream: 5} // later pieces carry the message's header too; the first's counts
	m := takeData(t, l1)
	want := slices.Concat(bytes.Repeat([]byte{'a'}, 4000), bytes.Repeat([]byte{'b'}, 3000), []byte("end"))
	if !bytes.Equal(m.Data, want) || m.PPID != 46 || m.Stream != 3 || m.More {
		t.Fatalf("association 1's message: %d B ppid %d stream %d more %v", len(m.Data), m.PPID, m.Stream, m.More)
	}
	if h := s.pieces.held(1); h != 0 {
		t.Fatalf("a whole message is still charged %d as under way", h)
	}
	eventually(t, "the account to empty", 5*time.Second, func() bool { return s.queuedCost() == 0 })
}

// TestSharedPartialDeliveryAborted: association 1's message is cut short (a
// partial delivery event). Its pieces are dropped and counted, their charge
// released, association 1 ends as aborted (and is aborted, in case the kernel has
// not ended it), while association 2 goes on, the read loop reports no error and
// the socket still accepts associations.
func TestSharedPartialDeliveryAborted(t *testing.T) {
	s, f, _ := startShared(t, 1<<20, 8<<20)
	l1, l2 := acceptLeg(t, s, f, 1), acceptLeg(t, s, f, 2)
	f.feed <- pieceOf(1, 5000, 'a', true)
	waitHeld(t, s, 1, 5000)
	f.feed <- pdAborted(1)
	f.feed <- commLost(1)
	f.feed <- data(2, 10, 7)
	if m := takeData(t, l2); m.PPID != 7 {
		t.Fatalf("association 2 after 1's message was cut short: ppid %d", m.PPID)
	}
	var err error
	eventually(t, "association 1 to end", 5*time.Second, func() bool {
		_, err = l1.TryReadMsg(make([]byte, 100))
		return err != nil && !errors.Is(err, sctpsock.ErrWouldBlock)
	})
	if !errors.Is(err, sctpsock.ErrAborted) {
		t.Fatalf("association 1 ended with %v, want an ABORT", err)
	}
	if a := l1.aborted(); !errors.Is(a, sctpsock.ErrAborted) {
		t.Fatalf("association 1's end: %v", a)
	}
	f.mu.Lock()
	aborted := slices.Clone(f.aborted)
	f.mu.Unlock()
	if !slices.Contains(aborted, 1) || slices.Contains(aborted, 2) {
		t.Fatalf("aborted %v, want 1 and not 2", aborted)
	}
	st := s.status()
	if st.DroppedBy[admin.DropInterrupted] != 1 || st.DroppedBy[admin.DropReadError] != 0 {
		t.Fatalf("dropped %v, want one interrupted and no read error", st.DroppedBy)
	}
	if h := s.pieces.held(1); h != 0 {
		t.Fatalf("the interrupted message is still charged %d", h)
	}
	l3 := acceptLeg(t, s, f, 3)
	f.feed <- data(3, 10, 9)
	if m := takeData(t, l3); m.PPID != 9 {
		t.Fatalf("a new association after the interruption: ppid %d", m.PPID)
	}
}

// TestSharedPiecesTooLarge: a message going over max_message in pieces ends its
// own association as too large, its later pieces are dropped, its charge is
// released, and the other association's messages go on.
func TestSharedPiecesTooLarge(t *testing.T) {
	s, f, _ := startShared(t, 1<<20, 8<<20)
	s.pieces.mu.Lock()
	s.pieces.asm.Limit = 10000
	s.pieces.mu.Unlock()
	l1, l2 := acceptLeg(t, s, f, 1), acceptLeg(t, s, f, 2)
	f.feed <- pieceOf(1, 6000, 'a', true)
	f.feed <- pieceOf(1, 6000, 'b', true)
	f.feed <- pieceOf(1, 6000, 'c', false)
	f.feed <- data(2, 10, 7)
	if m := takeData(t, l2); m.PPID != 7 {
		t.Fatalf("association 2: ppid %d", m.PPID)
	}
	var err error
	eventually(t, "association 1 to end", 5*time.Second, func() bool {
		_, err = l1.TryReadMsg(make([]byte, 100))
		return err != nil && !errors.Is(err, sctpsock.ErrWouldBlock)
	})
	if !errors.Is(err, sctpsock.ErrMessageTooLarge) {
		t.Fatalf("association 1 ended with %v, want too large", err)
	}
	waitHeld(t, s, 1, 0)
	eventually(t, "the account to empty", 5*time.Second, func() bool { return s.queuedCost() == 0 })
}

// TestSharedPiecesLegCloses: a leg that closes while its message is under way
// (the relay aborted it: a stall, a drain) releases what the message held.
func TestSharedPiecesLegCloses(t *testing.T) {
	s, f, _ := startShared(t, 1<<20, 8<<20)
	l1 := acceptLeg(t, s, f, 1)
	f.feed <- pieceOf(1, 5000, 'a', true)
	waitHeld(t, s, 1, 5000)
	l1.Abort()
	waitHeld(t, s, 1, 0)
	s.pieces.mu.Lock()
	pending := s.pieces.asm.Pending()
	s.pieces.mu.Unlock()
	if pending != 0 {
		t.Fatal("the closed leg's message is still under way")
	}
	eventually(t, "the account to empty", 5*time.Second, func() bool { return s.queuedCost() == 0 })
}
