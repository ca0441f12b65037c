package proxy

import (
	"bytes"
	"testing"

	"github.com/sctpguard/sctpguard/sctpsock"
)

func TestBacklogKeepsOrderAndFields(t *testing.T) {
	var q backlog
	note := &sctpsock.Notification{Type: sctpsock.NotifySenderDry}
	in := []sctpsock.Msg{
		{Data: []byte("a"), Stream: 1, PPID: 46},
		{Data: []byte("bcd"), Stream: 2, PPID: 3, Unordered: true},
		{Notification: note},
		{Data: bytes.Repeat([]byte{'x'}, 1000), Stream: 7},
	}
	buf := make([]byte, 4)
	for _, m := range in {
		if m.Data != nil { // as read: in a buffer reused for the next message
			buf = append(buf[:0], m.Data...)
			m.Data = buf
		}
		q.push(m)
	}
	if got, want := q.size(), 1+3+1000+4*backlogPerMsg; got != want {
		t.Errorf("size = %d, want %d", got, want)
	}
	for i, want := range in {
		got, ok := q.pop()
		if !ok {
			t.Fatalf("pop %d: empty", i)
		}
		if !bytes.Equal(got.Data, want.Data) || got.Stream != want.Stream || got.PPID != want.PPID ||
			got.Unordered != want.Unordered || got.Notification != want.Notification {
			t.Errorf("pop %d = %+v, want %+v", i, got, want)
		}
	}
	if _, ok := q.pop(); ok {
		t.Error("pop from an empty backlog")
	}
	if q.data != nil || q.recs != nil || q.notes != nil || q.size() != 0 {
		t.Error("an empty backlog still holds memory")
	}
}

func TestBacklogKeepsReadError(t *testing.T) {
	var q backlog
	q.push(sctpsock.Msg{Data: []byte("last")})
	q.err = errTest
	if m, ok := q.pop(); !ok || string(m.Data) != "last" {
		t.Fatalf("pop = %q, %v", m.Data, ok)
	}
	if q.err != errTest {
		t.Errorf("the read error was lost when the backlog emptied: %v", q.err)
	}
}

var errTest = &legError{leg: "front", op: "read", err: sctpsock.ErrAborted}
