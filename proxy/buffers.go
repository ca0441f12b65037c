package proxy

import (
	"sync"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// scratch lends read buffers to pipes while they have work. An idle pipe holds none,
// so ten thousand quiet associations cost no buffer memory.
var scratch = sync.Pool{New: func() any { b := make([]byte, scratchSize); return &b }}

func getScratch() *[]byte { return scratch.Get().(*[]byte) }

// putScratch returns a buffer; one grown past scratchSize for a large message is dropped
// for the collector so that the pool keeps only ordinary buffers.
func putScratch(b *[]byte) {
	if cap(*b) != scratchSize {
		return
	}
	scratch.Put(b)
}

// A pipe that waits for quota stops reading its source, whose kernel receive queue
// then fills up to SO_RCVBUF before SCTP closes the producer's window. Linux counts a
// queued message there at payload + sizeof(struct sk_buff) (233 bytes for a 1-byte
// message on 6.1) while it really holds ~1.6 KB, so the receive buffer that offers a
// useful window to large messages holds many times its size in true cost once the
// messages are small. Once the pipe has waited a while (freezeAfter), two things keep
// that queue short:
//
//   - the pipe reads what the queue holds into a backlog of its own (see backlog),
//     where a small message costs its payload and a few dozen bytes;
//   - srcBuffer then sets SO_RCVBUF to just above what is left queued: the next chunk
//     to arrive closes the window (Linux announces a zero window once the queue
//     reaches SO_RCVBUF, which it checks on every chunk, while the window offered at
//     set-up stays as it was). Once the account is half empty again, or the pipe
//     has relayed everything and finds src empty, the buffer is set back, and
//     reading what is queued reopens the window. A buffer left held while the
//     pipe waits for src to be readable would stall the association for good:
//     Linux drops every chunk that arrives at a queue over SO_RCVBUF, and a
//     queue holding messages behind a dropped one has nothing to read (seen
//     with an echoing peer, the client in another namespace: 2,960 bytes
//     queued, both pipes waiting to read, the client retransmitting forever).
//
// The buffer is never set below what the queue holds: a chunk arriving at a queue
// already over SO_RCVBUF is dropped without closing the window, the producer waits
// for its retransmission timer (1 s, backing off), and its retransmissions to an open
// window count towards aborting the association.
//
// Cutting SO_RCVBUF for small messages while the pipe reads was tried and measured:
// the queue then reaches the buffer whenever the producer is faster than the relay,
// each time the window closes with chunks in flight, Linux drops those, and the
// producer stalls on its retransmission timer (a 1-byte flood through a 1 MiB quota
// fell from ~2,500 to ~900 messages a second in the test VM).
type srcBuffer struct {
	normal int  // SO_RCVBUF as the kernel kept it before freeze; 0 until then
	frozen bool // set to what the queue holds while the pipe waits
	broken bool // the socket refused; leave it alone
}

// freeze sets c's receive buffer to just above what its queue holds; margin is room
// for the message or two that close the window.
func (b *srcBuffer) freeze(c leg, margin int) {
	if b.broken || b.frozen {
		return
	}
	if b.normal == 0 {
		n, err := c.recvBuffer()
		if err != nil {
			b.broken = true
			return
		}
		b.normal = n
	}
	queued, err := c.recvQueued()
	if err != nil || queued+margin >= b.normal {
		return
	}
	if b.set(c, queued+margin) {
		b.frozen = true
	}
}

// thaw gives c back the buffer it had before freeze.
func (b *srcBuffer) thaw(c leg) {
	if b.frozen && b.set(c, b.normal) {
		b.frozen = false
	}
}

// set sets c's receive buffer so that the kernel keeps n (it doubles what is set).
func (b *srcBuffer) set(c leg, n int) bool {
	if err := c.setRecvBuffer((n + 1) / 2); err != nil {
		b.broken = true
		return false
	}
	return true
}

// backlog holds, in order, the messages and notifications a pipe read from its source
// while a charge waited, until they are relayed: payloads back to back in one buffer,
// and a 16-byte record for each. It is owned by the pipe's goroutine; an empty backlog
// holds no memory.
type backlog struct {
	data  []byte       // payloads
	recs  []backlogRec // from head on: not yet relayed
	notes []*sctpsock.Notification
	head  int
	off   int   // where the payload of recs[head] starts in data
	err   error // the read error that ended reading ahead, if any
}

type backlogRec struct {
	n         uint32
	ppid      uint32
	stream    uint16
	unordered bool
	note      int32 // index in notes + 1 for a notification, 0 for data
}

// size is the memory the backlog holds, counted as its limit is.
func (q *backlog) size() int { return len(q.data) + backlogPerMsg*len(q.recs) }

// push appends a copy of m.
func (q *backlog) push(m sctpsock.Msg) {
	r := backlogRec{n: uint32(len(m.Data)), ppid: m.PPID, stream: m.Stream, unordered: m.Unordered}
	if m.Notification != nil {
		q.notes = append(q.notes, m.Notification)
		r.n, r.note = 0, int32(len(q.notes))
	} else {
		q.data = append(q.data, m.Data...)
	}
	q.recs = append(q.recs, r)
}

// pop removes and returns the oldest message, if any. Its Data is valid until the
// next push.
func (q *backlog) pop() (sctpsock.Msg, bool) {
	if q.head == len(q.recs) {
		return sctpsock.Msg{}, false
	}
	r := q.recs[q.head]
	q.head++
	var m sctpsock.Msg
	if r.note > 0 {
		m.Notification = q.notes[r.note-1]
		q.notes[r.note-1] = nil
	} else {
		end := q.off + int(r.n)
		m = sctpsock.Msg{Data: q.data[q.off:end:end], PPID: r.ppid, Stream: r.stream, Unordered: r.unordered}
		q.off = end
	}
	if q.head == len(q.recs) {
		*q = backlog{err: q.err}
	}
	return m, true
}
