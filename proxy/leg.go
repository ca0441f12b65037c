package proxy

import (
	"net/netip"
	"syscall"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// leg is one side of a relayed association as pipes and associations use it: an
// association on a one-to-one socket (*sctpsock.Conn), or one of the associations
// of a relay's shared one-to-many socket (*manyLeg).
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
}

var _ leg = (*sctpsock.Conn)(nil)
