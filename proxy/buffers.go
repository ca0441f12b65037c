package proxy

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// scratchSize is the read buffer a pipe borrows while its source has data. Messages
// larger than this grow the buffer up to the relay's max_message for that read only.
const scratchSize = 64 << 10

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

// A pipe's source is a socket whose kernel receive queue fills while the pipe does not
// keep up (it waits for quota, or the producer is faster). Linux counts a message there
// at payload + sizeof(struct sk_buff) (233 bytes for a 1-byte message on 6.1) against
// SO_RCVBUF, while the message really holds ~1.6 KB, so a receive buffer sized for
// large messages holds several times its size in true cost when the messages are
// small. srcBuffer therefore adapts the source's SO_RCVBUF, which Linux checks on every
// arriving chunk, while the window the association advertised at set-up stays as it was:
//
//   - to the size of the messages read: the buffer is cut so that the queue, full of
//     messages of that size, holds at most queueBudget of true cost (payload and the
//     cost model's overhead per message). Until the first message is read it is cut for
//     the smallest messages;
//   - while the pipe waits for quota, to just above what the queue holds: the next
//     chunk to arrive then closes the window (Linux announces a zero window once the
//     queue reaches SO_RCVBUF), so nothing more piles up while the pipe cannot read.
//
// The buffer is never set below what the queue holds (see set): a chunk arriving at a
// queue already over SO_RCVBUF is dropped without closing the window, the producer
// waits for its retransmission timer (1 s, backing off), and its retransmissions to an
// open window count towards aborting the association.
type srcBuffer struct {
	budget   int64 // true cost the queue may hold; 0 until start
	overhead int64 // the cost model's overhead per message
	applied  int   // SO_RCVBUF as the kernel keeps it now
	size     int   // payload size the buffer is cut for: smaller messages lower it at once, larger raise it slowly
	frozen   bool  // set to what the queue holds while the pipe waits
	broken   bool  // the socket refused; leave it alone
}

// queueBudget is the true cost a pipe's source queue may hold for an association with
// the given quota: half of it. The relay's sockets are set up with a receive buffer of
// that size (the kernel doubles what frontOptions asks), which is what Linux counts for
// as many bytes of large messages, and which offers a window of half of it.
func queueBudget(quota int64) int64 { return quota / 2 }

// minRecvBuffer is the smallest SO_RCVBUF Linux keeps (SOCK_MIN_RCVBUF: 2048 bytes and
// an sk_buff); below it setting the buffer changes nothing.
const minRecvBuffer = 2304

// minCut is the least a receive buffer is cut to for small messages. When a closed
// window reopens, the producer sends everything it has outstanding at once (a local
// sender on default buffers: ~200 small messages, ~48 KB as Linux counts them here);
// what does not fit below SO_RCVBUF is dropped and waits for the producer's
// retransmission timer, which backs off from 1 s. A buffer below the burst lets each
// round deliver only its size, and the association crawls.
const minCut = 64 << 10

// cutRecvBuffer cuts c's receive buffer for the smallest messages: for a front socket
// just accepted, whose pipe starts only once the upstream association is up, while
// the application may already be sending.
func cutRecvBuffer(c *sctpsock.Conn, quota, overhead int64) {
	b := srcBuffer{budget: queueBudget(quota), overhead: overhead}
	b.set(c, b.cut())
}

// start cuts c's receive buffer for the smallest messages; observe then follows the
// messages read.
func (b *srcBuffer) start(c *sctpsock.Conn, budget, overhead int64) {
	b.budget, b.overhead = budget, overhead
	if budget <= 0 {
		b.broken = true // no quota: nothing to size the buffer from
		return
	}
	b.set(c, b.cut())
}

// observe adapts c's receive buffer to a message of n payload bytes just read from it.
func (b *srcBuffer) observe(c *sctpsock.Conn, n int) {
	if b.broken || b.budget == 0 {
		return
	}
	if n < b.size {
		b.size = n
	} else {
		b.size += (n - b.size + 15) / 16
	}
	want := b.cut()
	if d := want - b.applied; d > b.applied/8 || -d > b.applied/8 {
		b.set(c, want)
	}
}

// cut is the receive buffer, in the kernel's counted bytes, at which a queue of
// messages of b.size payload bytes holds b.budget of true cost.
func (b *srcBuffer) cut() int {
	s := int64(b.size)
	n := b.budget * (s + rxCountedPerChunk) / (s + b.overhead)
	return int(min(max(n, minCut), b.budget))
}

// freeze sets c's receive buffer to just above what its queue holds, while the pipe
// waits for quota: one or two more messages close the window.
func (b *srcBuffer) freeze(c *sctpsock.Conn) {
	if b.broken || b.budget == 0 || b.frozen {
		return
	}
	prev := b.applied
	b.set(c, 0)                      // as low as it may go: see set
	b.applied, b.frozen = prev, true // restored by thaw
}

// thaw gives c back the buffer it had before freeze.
func (b *srcBuffer) thaw(c *sctpsock.Conn) {
	if b.frozen {
		b.frozen = false
		b.set(c, b.applied)
	}
}

// set sets c's receive buffer so that the kernel keeps n (it doubles what is set), or
// what its queue holds and room for a message or two if that is more: the next chunk
// to arrive then either fits or closes the window, never finds the queue already over
// the buffer and is dropped with the window open.
func (b *srcBuffer) set(c *sctpsock.Conn, n int) {
	if queued, err := recvQueued(c); err == nil {
		n = max(n, queued+2*(min(b.size, 64<<10)+rxCountedPerChunk))
	}
	if err := setRecvBuffer(c, (n+1)/2); err != nil {
		b.broken = true
		return
	}
	b.applied = max(n, minRecvBuffer)
}

// recvBuffer is c's SO_RCVBUF as the kernel keeps it (twice the value set).
func recvBuffer(c *sctpsock.Conn) (int, error) {
	var n int
	err := control(c, func(fd int) (err error) {
		n, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
		return err
	})
	return n, err
}

// recvQueued is what c's receive queue holds as the kernel counts it against
// SO_RCVBUF (SO_MEMINFO: sk_rmem_alloc).
func recvQueued(c *sctpsock.Conn) (int, error) {
	var mem [unix.SK_MEMINFO_VARS]uint32
	err := control(c, func(fd int) error {
		n := uint32(unsafe.Sizeof(mem))
		_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_MEMINFO,
			uintptr(unsafe.Pointer(&mem)), uintptr(unsafe.Pointer(&n)), 0)
		if e != 0 {
			return e
		}
		return nil
	})
	return int(mem[unix.SK_MEMINFO_RMEM_ALLOC]), err
}

// setRecvBuffer sets SO_RCVBUF, with SO_RCVBUFFORCE where allowed so that
// net.core.rmem_max does not cap a restored buffer below the one set at set-up.
func setRecvBuffer(c *sctpsock.Conn, n int) error {
	return control(c, func(fd int) error {
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n) == nil {
			return nil
		}
		return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, n)
	})
}

func control(c *sctpsock.Conn, f func(fd int) error) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}
