package proxy

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/sctpguard/sctpguard/admin"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// errSharedSocket: a leg on a shared socket has no socket of its own to tune.
var errSharedSocket = errors.New("the association shares its socket with others")

// sharedLeg is one association of a shared one-to-many socket, as a leg: the messages
// the socket's reader handed it wait in its queue until its pipe takes them; writes,
// SHUTDOWN, ABORT and status go to the socket naming the association.
type sharedLeg struct {
	s  *sharedSocket
	id int32

	mu     sync.Mutex
	q      []queued // from head on: not yet taken; taken slots are zero (see compact)
	head   int
	queued int64         // cost of the queue
	ready  chan struct{} // something was queued, or the leg closed
	end    error         // how the association ended, once the reader saw it
	closed atomic.Bool
	ends   legEnds // names the association to sock_diag; guarded by s.kernelMu
}

// queued is a message (or notification) waiting in a leg, or the error that ends it.
type queued struct {
	m    sctpsock.Msg
	cost int64
	err  error
}

func newSharedLeg(s *sharedSocket, id int32) *sharedLeg {
	return &sharedLeg{s: s, id: id, ready: make(chan struct{}, 1)}
}

var _ leg = (*sharedLeg)(nil)

// push queues a copy of m, charged at cost, and wakes the pipe; false if the leg is
// closed. The copy is owned by the queue: the reader's buffer is reused.
func (l *sharedLeg) push(m sctpsock.Msg, cost int64) bool {
	if m.Data != nil {
		m.Data = append([]byte(nil), m.Data...)
	}
	return l.enqueue(queued{m: m, cost: cost})
}

// pushErr queues err: the pipe reads it after what was queued before.
func (l *sharedLeg) pushErr(err error) { l.enqueue(queued{err: err}) }

func (l *sharedLeg) enqueue(e queued) bool {
	l.mu.Lock()
	if l.closed.Load() {
		l.mu.Unlock()
		return false
	}
	l.q = append(l.q, e)
	l.queued += e.cost
	l.mu.Unlock()
	l.wake()
	return true
}

func (l *sharedLeg) wake() {
	select {
	case l.ready <- struct{}{}:
	default:
	}
}

// ending records how the association ended; the first report wins.
func (l *sharedLeg) ending(err error) {
	l.mu.Lock()
	if l.end == nil {
		l.end = err
	}
	l.mu.Unlock()
}

// aborted is the ABORT (or other failure) that ended the association, if the
// socket's reader saw one; nil while it lives or after a graceful end.
func (l *sharedLeg) aborted() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.end == nil || errors.Is(l.end, errShutdownComplete) {
		return nil
	}
	return l.end
}

// SendQueued is what the kernel holds of what was written on the association,
// unsent or unacknowledged.
func (l *sharedLeg) SendQueued() (int, error) { return l.s.sendQueued(l) }

// queuedCost is the true cost of what waits in the leg's queue.
func (l *sharedLeg) queuedCost() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.queued
}

// statusEnds are invalid: status shows the shared socket's kernel queues, not
// the association's.
func (l *sharedLeg) statusEnds() legEnds { return legEnds{} }

// WaitReadable waits until the queue holds something or the leg is closed.
func (l *sharedLeg) WaitReadable() error {
	for {
		l.mu.Lock()
		n := len(l.q) - l.head
		l.mu.Unlock()
		switch {
		case l.closed.Load():
			return fmt.Errorf("wait: %w", net.ErrClosed)
		case n > 0:
			return nil
		}
		<-l.ready
	}
}

// TryReadMsg takes the oldest queued message, copied into buf when it fits (else
// Data is the queue's own copy), or returns ErrWouldBlock.
func (l *sharedLeg) TryReadMsg(buf []byte) (sctpsock.Msg, error) {
	if l.closed.Load() {
		return sctpsock.Msg{}, fmt.Errorf("read: %w", net.ErrClosed)
	}
	l.mu.Lock()
	if l.head == len(l.q) {
		l.mu.Unlock()
		return sctpsock.Msg{}, sctpsock.ErrWouldBlock
	}
	e := l.q[l.head]
	l.q[l.head] = queued{} // the queue lets go of the payload
	l.head++
	l.compact()
	l.queued -= e.cost
	l.mu.Unlock()
	l.s.taken(e.cost)
	if e.err != nil {
		return sctpsock.Msg{}, fmt.Errorf("shared socket: %w", e.err)
	}
	if len(e.m.Data) <= cap(buf) && e.m.Data != nil {
		e.m.Data = buf[:copy(buf[:cap(buf)], e.m.Data)]
	}
	return e.m, nil
}

// compact keeps the queue's memory to what it holds, at most about eight slots per
// message queued or queueKeep; l.mu is held. Once as many slots were taken as are
// left, the live tail moves to the front: into an array twice its length if the old
// one is more than four times that, else in place, zeroing the slots it leaves so
// that their payloads can be freed. A move copies no more entries than were taken
// since the last one, so a take costs O(1) amortized.
func (l *sharedLeg) compact() {
	n := len(l.q) - l.head
	switch {
	case n == 0:
		l.q, l.head = l.q[:0], 0
	case l.head < n: // fewer taken than left: not yet
	case cap(l.q) > 4*n && cap(l.q) > queueKeep:
		q := make([]queued, n, 2*n)
		copy(q, l.q[l.head:])
		l.q, l.head = q, 0
	default:
		copy(l.q, l.q[l.head:])
		clear(l.q[n:])
		l.q, l.head = l.q[:n], 0
	}
}

// WriteMsg sends m on the association.
func (l *sharedLeg) WriteMsg(m sctpsock.Msg) error {
	if l.closed.Load() {
		return fmt.Errorf("write: %w", net.ErrClosed)
	}
	return l.gone(l.s.sock.WriteMsg(l.id, m))
}

// TryWriteMsg is WriteMsg that returns sctpsock.ErrWouldBlock instead of
// waiting for room in the shared socket's send buffer.
func (l *sharedLeg) TryWriteMsg(m sctpsock.Msg) error {
	if l.closed.Load() {
		return fmt.Errorf("write: %w", net.ErrClosed)
	}
	return l.gone(l.s.sock.TryWriteMsg(l.id, m))
}

// gone explains an operation on an association the kernel no longer has: ABORT if
// the reader saw one, else the end of a shutdown.
func (l *sharedLeg) gone(err error) error {
	if !errors.Is(err, sctpsock.ErrNoAssoc) {
		return err
	}
	if a := l.aborted(); a != nil {
		return fmt.Errorf("%w: %w", err, a)
	}
	return fmt.Errorf("%w: %w", err, sctpsock.ErrShutdown)
}

// Shutdown starts the association's graceful end (SCTP_EOF).
func (l *sharedLeg) Shutdown() error {
	if l.closed.Load() {
		return fmt.Errorf("shutdown: %w", net.ErrClosed)
	}
	return l.gone(l.s.sock.Shutdown(l.id))
}

// Abort ends the association with ABORT and closes the leg.
func (l *sharedLeg) Abort() error {
	return l.close(func() error { return l.s.sock.Abort(l.id) })
}

// Close closes the leg; an association still up is shut down gracefully first,
// as closing a one-to-one socket would.
func (l *sharedLeg) Close() error {
	return l.close(func() error { return l.s.sock.Shutdown(l.id) })
}

// close runs end on an association the reader has not seen end, then drops the
// queue (its messages are counted as dropped) and forgets the leg: what the
// socket still delivers for it is dropped.
func (l *sharedLeg) close(end func() error) error {
	if l.closed.Swap(true) {
		return fmt.Errorf("close: %w", net.ErrClosed)
	}
	l.mu.Lock()
	live := l.end == nil
	freed := l.queued
	var lost uint64
	for _, e := range l.q[l.head:] {
		if e.err == nil && e.m.Notification == nil {
			lost++
		}
	}
	l.q, l.head, l.queued = nil, 0, 0
	l.mu.Unlock()
	l.s.forget(l)
	l.s.taken(freed)
	l.s.dropped.add(admin.DropAssociationClosed, lost)
	l.wake()
	if live {
		if err := end(); err != nil && !errors.Is(err, sctpsock.ErrNoAssoc) {
			return err
		}
	}
	return nil
}

// Status returns the association's SCTP_STATUS.
func (l *sharedLeg) Status() (sctpsock.Status, error) {
	if l.closed.Load() {
		return sctpsock.Status{}, fmt.Errorf("status: %w", net.ErrClosed)
	}
	return l.s.sock.Status(l.id)
}

// Paths returns the association's paths.
func (l *sharedLeg) Paths() ([]sctpsock.PathInfo, error) { return l.s.sock.Paths(l.id) }

// LocalAddrs returns the association's local addresses.
func (l *sharedLeg) LocalAddrs() ([]netip.AddrPort, error) { return l.s.sock.AssocLocalAddrs(l.id) }

// PeerAddrs returns the association's peer addresses.
func (l *sharedLeg) PeerAddrs() ([]netip.AddrPort, error) { return l.s.sock.PeerAddrs(l.id) }

// SetPathOptions applies path settings to the association.
func (l *sharedLeg) SetPathOptions(p sctpsock.PathOptions) error {
	return l.s.sock.SetPathOptions(l.id, p)
}

// SetAbortOnExit is a property of the shared socket, which sctpguard opens with it
// on: every association on it is aborted if sctpguard dies.
func (l *sharedLeg) SetAbortOnExit(on bool) error {
	if !on {
		return fmt.Errorf("abort on exit: %w", errSharedSocket)
	}
	return nil
}

// recvBuffer, recvQueued and setRecvBuffer return errSharedSocket: the shared
// socket's buffer is every association's, and tuning it for one would change it
// for all. What waits for this leg's pipe is in its queue, bounded by
// quota.association.
func (l *sharedLeg) recvBuffer() (int, error) { return 0, errSharedSocket }
func (l *sharedLeg) recvQueued() (int, error) { return 0, errSharedSocket }
func (l *sharedLeg) setRecvBuffer(int) error  { return errSharedSocket }
