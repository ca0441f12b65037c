package sctpsock

import (
	"fmt"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// spareFD is a descriptor a Listener holds in reserve (/dev/null, or a duplicate
// of the listening socket once it has been used; see shed), so that it
// can still accept an association, to abort it, when the process has no
// descriptor left: refusing it beats leaving it in the backlog, where the peer
// takes it for established and sends into it. Its number is low, taken when
// the listener opens, so it is usable under a limit that was lowered later.
type spareFD struct {
	mu sync.Mutex
	fd int // -1 when none is held
}

// reserve takes a descriptor, if there is one.
func (s *spareFD) reserve() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fd = openSpare()
}

func openSpare() int {
	fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	return fd
}

// release gives the descriptor back for good.
func (s *spareFD) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd >= 0 {
		unix.Close(s.fd)
		s.fd = -1
	}
}

// shed is called when accept on the listening socket ln failed with cause
// (EMFILE or ENFILE). With the spare descriptor freed it accepts the waiting
// association, aborts it and takes the spare back. wait is true when nothing was
// waiting after all (the caller waits on the poller again); otherwise err says
// what happened.
func (s *spareFD) shed(ln int, cause unix.Errno) (wait bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd < 0 {
		if s.fd = openSpare(); s.fd < 0 {
			return false, fmt.Errorf("%w (and no descriptor in reserve: the association waits in the backlog)", cause)
		}
	}
	unix.Close(s.fd)
	nfd, aerr := acceptFreed(ln)
	if aerr == nil {
		// SO_LINGER with a zero timeout: closing the socket sends ABORT. It is
		// closed by dup3, which puts a duplicate of ln in its place in the same
		// step: the number stays this process's spare. A close and a new open
		// would leave a moment in which another goroutine's open (the gate's
		// /proc reads, a log file) takes it, and the next association would
		// wait in the backlog.
		unix.SetsockoptLinger(nfd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1})
		if err := unix.Dup3(ln, nfd, unix.O_CLOEXEC); err != nil {
			unix.Close(nfd)
			nfd = -1
		}
		s.fd = nfd
	} else {
		s.fd = openSpare()
	}
	switch aerr {
	case nil:
		return false, fmt.Errorf("%w (%w): aborted it", ErrNoDescriptor, cause)
	case unix.EAGAIN:
		return true, nil
	}
	return false, fmt.Errorf("%w (accepting with the descriptor in reserve: %w)", cause, aerr)
}

// acceptFreed accepts on ln just after the spare descriptor was closed. Any
// accept or open elsewhere in the process takes the lowest free number first
// (accept4 takes it before it looks for a connection, so an idle accept loop
// does too), but holds it only for a moment; so a few tries, a moment apart,
// get past another goroutine that took the number first.
func acceptFreed(ln int) (int, error) {
	for try := 0; ; try++ {
		nfd, _, err := unix.Accept4(ln, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		if (err != unix.EMFILE && err != unix.ENFILE && err != unix.EINTR) || try == spareTries {
			return nfd, err
		}
		time.Sleep(spareRetry)
	}
}

// spareTries and spareRetry bound acceptFreed: at most 5 ms while the listener
// is held.
const (
	spareTries = 5
	spareRetry = time.Millisecond
)
