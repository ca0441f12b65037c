package proxy

import (
	"net/netip"
	"syscall"

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
	// SyscallConn is the leg's own socket, for buffer tuning; a leg that shares
	// its socket with others returns errSharedSocket.
	SyscallConn() (syscall.RawConn, error)

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
	if err := control(c, func(fd int) error {
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
