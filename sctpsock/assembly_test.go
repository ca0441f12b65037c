package sctpsock

import (
	"bytes"
	"errors"
	"testing"
)

func piece(id int32, data string, more bool) Msg {
	return Msg{AssocID: id, Data: []byte(data), More: more, Stream: uint16(id), PPID: uint32(100 + id)}
}

// TestAssemblerInterleaved: pieces of two associations' messages, interleaved
// with each other and with whole messages and notifications, come out as whole
// messages of their own association, with the first piece's stream and PPID; a
// whole message is returned as it is, without a copy.
func TestAssemblerInterleaved(t *testing.T) {
	var a Assembler
	note := Msg{AssocID: 1, Notification: &Notification{Type: NotifyPeerAddrChange}}
	whole := piece(3, "whole", false)
	steps := []struct {
		in   Msg
		want string // "" while nothing is complete
	}{
		{piece(1, "a1-", true), ""},
		{piece(2, "b1-", true), ""},
		{whole, "whole"},
		{note, "note"},
		{piece(1, "a2-", true), ""},
		{piece(2, "b2", false), "b1-b2"},
		{piece(1, "a3", false), "a1-a2-a3"},
	}
	for i, s := range steps {
		m, done, err := a.Add(s.in)
		switch {
		case err != nil:
			t.Fatalf("step %d: %v", i, err)
		case done != (s.want != ""):
			t.Fatalf("step %d: done %v, want %q", i, done, s.want)
		case s.want == "note" && m.Notification != note.Notification:
			t.Fatalf("step %d: notification not passed through: %+v", i, m)
		case s.want != "" && s.want != "note" && string(m.Data) != s.want:
			t.Fatalf("step %d: %q, want %q", i, m.Data, s.want)
		case done && m.Notification == nil && (m.Stream != s.in.Stream || m.PPID != s.in.PPID || m.AssocID != s.in.AssocID || m.More):
			t.Fatalf("step %d: header %+v", i, m)
		}
		if s.in.AssocID == 3 && &m.Data[0] != &whole.Data[0] {
			t.Fatal("a whole message was copied")
		}
	}
	if a.Pending() != 0 || a.Held(1) != 0 || a.Held(2) != 0 {
		t.Fatalf("after every message ended: %d under way, held %d and %d", a.Pending(), a.Held(1), a.Held(2))
	}
}

// TestAssemblerLimit: a message going over Limit yields one *TooLargeError with
// its association, its later pieces are dropped without another, and the next
// message of that association and the others' messages are untouched; a whole
// piece over Limit is refused too.
func TestAssemblerLimit(t *testing.T) {
	a := Assembler{Limit: 10}
	if _, _, err := a.Add(piece(2, "b-", true)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Add(piece(1, "123456", true)); err != nil {
		t.Fatal(err)
	}
	_, done, err := a.Add(piece(1, "789012", true))
	tl, ok := errors.AsType[*TooLargeError](err)
	if !ok || done || tl.AssocID != 1 || tl.Limit != 10 || tl.Read != 12 || !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("over the limit: done %v, %v", done, err)
	}
	if a.Held(1) != 0 {
		t.Fatalf("a message over the limit holds %d bytes", a.Held(1))
	}
	for _, more := range []bool{true, false} {
		if m, done, err := a.Add(piece(1, "rest", more)); err != nil || done {
			t.Fatalf("a later piece of the dropped message: %+v %v %v", m, done, err)
		}
	}
	if m, done, err := a.Add(piece(1, "next", false)); err != nil || !done || string(m.Data) != "next" {
		t.Fatalf("the next message: %q %v %v", m.Data, done, err)
	}
	if m, done, err := a.Add(piece(2, "end", false)); err != nil || !done || string(m.Data) != "b-end" {
		t.Fatalf("the other association's message: %q %v %v", m.Data, done, err)
	}
	if _, _, err := a.Add(piece(3, "01234567890", false)); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("a whole message over the limit: %v", err)
	}
}

// TestAssemblerDrop: dropping an association's message under way (its partial
// delivery aborted) frees what it held and leaves the others; the next piece of
// the association starts a new message.
func TestAssemblerDrop(t *testing.T) {
	var a Assembler
	a.Add(piece(1, "interrupted", true))
	a.Add(piece(2, "kept-", true))
	held := a.Held(1)
	if held < len("interrupted") {
		t.Fatalf("held %d for an 11-byte piece", held)
	}
	if n := a.Drop(1); n != held || a.Held(1) != 0 || a.Under(1) || !a.Under(2) {
		t.Fatalf("drop freed %d of %d; under way: 1 %v, 2 %v", n, held, a.Under(1), a.Under(2))
	}
	if a.Drop(1) != 0 {
		t.Fatal("a second drop freed something")
	}
	if m, done, _ := a.Add(piece(1, "fresh", false)); !done || string(m.Data) != "fresh" {
		t.Fatalf("after the drop: %q %v", m.Data, done)
	}
	if m, done, _ := a.Add(piece(2, "end", false)); !done || string(m.Data) != "kept-end" {
		t.Fatalf("the other: %q %v", m.Data, done)
	}
}

// TestAssemblerHeld: what a message under way holds follows its buffer, at most
// about twice what was read and never over Limit, and the message comes out
// intact.
func TestAssemblerHeld(t *testing.T) {
	a := Assembler{Limit: 100 << 10}
	want := make([]byte, 0, 100<<10)
	chunk := bytes.Repeat([]byte{7}, 1000)
	for i := range 99 {
		chunk[0] = byte(i)
		want = append(want, chunk...)
		if _, _, err := a.Add(Msg{AssocID: 9, Data: chunk, More: true}); err != nil {
			t.Fatal(err)
		}
		if h := a.Held(9); h < len(want) || h > 2*len(want) || h > a.Limit {
			t.Fatalf("after %d bytes: held %d", len(want), h)
		}
	}
	m, done, err := a.Add(Msg{AssocID: 9, Data: []byte{1}})
	want = append(want, 1)
	if err != nil || !done || !bytes.Equal(m.Data, want) {
		t.Fatalf("the message: %d bytes, done %v, %v", len(m.Data), done, err)
	}
}
