package sctpsock

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"

	"github.com/ishidawataru/sctp"
	"golang.org/x/sys/unix"
)

const listenBacklog = 4096

// Listener accepts SCTP associations on one or more local addresses sharing
// one port.
type Listener struct {
	f      *os.File
	rc     syscall.RawConn
	opts   Options
	addrs  []netip.AddrPort
	closed atomic.Bool
	spare  spareFD
}

// Listen opens a one-to-one style SCTP socket bound to all addrs (they must
// share one port; port 0 picks a free one, which Addrs reports) and listens
// on it. Associations accepted inherit o.
func Listen(addrs []netip.AddrPort, o Options) (*Listener, error) {
	op := "listen " + formatAddrs(addrs)
	ips, port, err := splitAddrs(addrs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	fd, err := listenSocket(ips, port, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	f, err := newFile(fd, "sctp-listener")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	l := &Listener{f: f, opts: o}
	if l.rc, err = f.SyscallConn(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if l.addrs, err = getAddrs(fd, sctp.SCTP_GET_LOCAL_ADDRS); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: local addresses: %w", op, err)
	}
	l.spare.reserve()
	return l, nil
}

func listenSocket(ips []netip.Addr, port uint16, o Options) (int, error) {
	fd, err := newSocket(family(ips...), o)
	if err != nil {
		return -1, err
	}
	if err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		err = fmt.Errorf("setsockopt SO_REUSEADDR: %w", err)
	} else if err = bindx(fd, ips, port); err == nil {
		if err = unix.Listen(fd, listenBacklog); err != nil {
			err = fmt.Errorf("listen: %w", err)
		}
	}
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// Accept waits on the runtime poller for the next association and returns
// it. After Close it returns an error matching net.ErrClosed.
//
// When the process is out of file descriptors (EMFILE, ENFILE) Accept does
// not leave the association waiting in the backlog, where its peer would take
// it for established: it accepts it with a descriptor held in reserve, aborts
// it, and returns an error matching ErrNoDescriptor and the errno. The caller should
// wait a little before it accepts again.
func (l *Listener) Accept() (*Conn, error) {
	var nfd int
	var aerr error
	err := l.rc.Read(func(fd uintptr) bool {
		for {
			nfd, _, aerr = unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
			switch aerr {
			case unix.EINTR, unix.ECONNABORTED:
				continue
			case unix.EMFILE, unix.ENFILE:
				var wait bool
				wait, aerr = l.spare.shed(int(fd), aerr.(unix.Errno))
				return !wait
			}
			return aerr != unix.EAGAIN
		}
	})
	if err == nil {
		err = aerr
	}
	if err != nil {
		if l.closed.Load() {
			err = net.ErrClosed
		}
		return nil, fmt.Errorf("accept: %w", err)
	}
	return l.newAccepted(nfd)
}

func (l *Listener) newAccepted(fd int) (*Conn, error) {
	if err := setupConnOptions(fd, l.opts); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("accept: %w", err)
	}
	c, err := newConn(fd, l.opts)
	if err != nil {
		return nil, fmt.Errorf("accept: %w", err)
	}
	return c, nil
}

// Addrs returns the local addresses the listener is bound to, with the
// port the kernel chose if it was 0.
func (l *Listener) Addrs() []netip.AddrPort {
	return append([]netip.AddrPort(nil), l.addrs...)
}

// Close stops listening. A pending Accept returns an error matching
// net.ErrClosed. Associations already accepted are not affected.
func (l *Listener) Close() error {
	if l.closed.Swap(true) {
		return fmt.Errorf("close listener: %w", net.ErrClosed)
	}
	l.spare.release()
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("close listener: %w", err)
	}
	return nil
}

// splitAddrs checks that addrs are non-empty and share one port.
func splitAddrs(addrs []netip.AddrPort) ([]netip.Addr, uint16, error) {
	if len(addrs) == 0 {
		return nil, 0, errors.New("no address given")
	}
	port := addrs[0].Port()
	ips := make([]netip.Addr, len(addrs))
	for i, a := range addrs {
		if !a.IsValid() {
			return nil, 0, fmt.Errorf("address %d is not valid", i)
		}
		if a.Port() != port {
			return nil, 0, fmt.Errorf("addresses must share one port: %v and %v", addrs[0], a)
		}
		ips[i] = a.Addr()
	}
	return ips, port, nil
}

// formatAddrs writes one address as host:port, several as
// "[a:p b:p]".
func formatAddrs(addrs []netip.AddrPort) string {
	if len(addrs) == 1 {
		return addrs[0].String()
	}
	return fmt.Sprint(addrs)
}
