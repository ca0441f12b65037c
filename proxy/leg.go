package proxy

import (
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// leg is one side of a relayed association as pipes and associations use it: an
// association on a one-to-one socket (connLeg), or one of the associations of a
// relay's shared one-to-many socket (*sharedLeg). Nothing outside these two types
// asks which kind a leg is: what differs between them is a method here.
type leg interface {
	WaitReadable() error
	TryReadMsg(buf []byte) (sctpsock.Msg, error)
	WriteMsg(m sctpsock.Msg) error
	// TryWriteMsg is WriteMsg that returns sctpsock.ErrWouldBlock instead of
	// waiting for room in the send buffer.
	TryWriteMsg(m sctpsock.Msg) error
	Shutdown() error
	Abort() error
	Close() error
	Status() (sctpsock.Status, error)
	// SendQueued is what the kernel holds of the messages written on the
	// association, unsent or unacknowledged, as it counts them against the send
	// buffer (payload and buffers).
	SendQueued() (int, error)
	Paths() ([]sctpsock.PathInfo, error)
	LocalAddrs() ([]netip.AddrPort, error)
	PeerAddrs() ([]netip.AddrPort, error)
	SetPathOptions(p sctpsock.PathOptions) error
	SetAbortOnExit(on bool) error
	// recvBuffer, recvQueued and setRecvBuffer read and set the leg's own
	// receive buffer (SO_RCVBUF) and queue (sk_rmem_alloc), which srcBuffer
	// and readAhead use while a charge waits; a shared leg has no buffer of
	// its own and returns errSharedSocket.
	recvBuffer() (int, error)
	recvQueued() (int, error)
	setRecvBuffer(n int) error

	// aborted returns the error an ABORT (or another failure) left on the
	// association, once it is gone: nil while it lives, and nil after a graceful
	// end, whose queued messages are still to be read.
	aborted() error
	// queuedCost is the true cost of the messages sctpguard holds in the leg
	// itself, read from the socket and not yet taken by its pipe: charged on
	// top of what the pipe holds.
	queuedCost() int64
	// statusEnds name the association to sock_diag for status; invalid for a
	// leg whose kernel queues are its shared socket's, which status shows
	// instead.
	statusEnds() legEnds
}

// connLeg is an association on a one-to-one socket of its own: an accepted
// front association, or an upstream association.
type connLeg struct{ *sctpsock.Conn }

var _ leg = connLeg{}

// aborted reads the socket's pending error (SO_ERROR) once the association is
// gone, and clears it.
func (c connLeg) aborted() error {
	if _, err := c.Status(); err == nil {
		return nil
	}
	var serr error
	if err := c.control(func(fd int) error {
		if n, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); err == nil && n != 0 {
			serr = syscall.Errno(n)
		}
		return nil
	}); err != nil {
		return err // closed
	}
	return serr
}

// queuedCost is 0: what a one-to-one socket holds waits in its kernel queue.
func (c connLeg) queuedCost() int64 { return 0 }

func (c connLeg) statusEnds() legEnds { return assocEnds(c) }

// recvBuffer is the socket's SO_RCVBUF as the kernel keeps it (twice the value set).
func (c connLeg) recvBuffer() (int, error) {
	var n int
	err := c.control(func(fd int) (err error) {
		n, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
		return err
	})
	return n, err
}

// recvQueued is what the socket's receive queue holds as the kernel counts it
// against SO_RCVBUF (SO_MEMINFO: sk_rmem_alloc).
func (c connLeg) recvQueued() (int, error) {
	var mem [unix.SK_MEMINFO_VARS]uint32
	err := c.control(func(fd int) error {
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
func (c connLeg) setRecvBuffer(n int) error {
	return c.control(func(fd int) error {
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n) == nil {
			return nil
		}
		return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, n)
	})
}

// control runs f on the socket's descriptor.
func (c connLeg) control(f func(fd int) error) error {
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
