package sctpsock

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Dial opens an association to the peer at remote (one or more addresses of
// one endpoint, sharing one port) from the local addresses, if any, and
// waits on the runtime poller until it is established, ctx is done, or
// Options.InitTimeout passes. The error says why it failed: refused (the
// peer answered with ABORT), no answer to INIT within the timeout,
// unreachable, and wraps the cause ("connect 192.0.2.10:3868: ...: %w").
func Dial(ctx context.Context, local []netip.Addr, remote []netip.AddrPort, o Options) (*Conn, error) {
	op := "connect " + formatAddrs(remote)
	rips, port, err := splitAddrs(remote)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	fd, err := dialSocket(local, rips, port, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if o.OnConnect != nil {
		o.OnConnect(localPort(fd))
	}
	c, err := newConn(fd, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if err := c.waitConnected(ctx, o.initTimeout()); err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return c, nil
}

// dialSocket opens a socket, binds it to local (if any) and starts the
// association.
func dialSocket(local, remote []netip.Addr, port uint16, o Options) (int, error) {
	fd, err := newSocket(family(append(local[:len(local):len(local)], remote...)...), o)
	if err != nil {
		return -1, err
	}
	if len(local) > 0 {
		err = bindx(fd, local, 0)
	}
	if err == nil {
		err = connectx(fd, remote, port)
		if errors.Is(err, unix.EINPROGRESS) {
			err = nil
		} else if err != nil {
			err = connectErr(err)
		}
	}
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// waitConnected waits until the association is established or fails, or until
// the earlier of ctx's deadline and now+timeout. It checks the association's state
// with a short, growing interval: readiness events alone are not reliable here (a
// TCP-style SCTP socket is writable before it is established, and data from an eager
// peer can be the only edge the poller sees), and a Dial happens once per association.
func (c *Conn) waitConnected(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	d, ok := ctx.Deadline()
	ctxFirst := ok && d.Before(deadline)
	if ctxFirst {
		deadline = d
	}
	wait := 200 * time.Microsecond
	for {
		done, cerr := c.connectState()
		if done {
			if cerr != nil {
				return connectErr(cerr)
			}
			return nil
		}
		left := time.Until(deadline)
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("%s: %w", c.pendingState(), ctx.Err())
		case left <= 0 && ctxFirst:
			return fmt.Errorf("%s by the deadline: %w", c.pendingState(), context.DeadlineExceeded)
		case left <= 0:
			return fmt.Errorf("%s within %v: %w", c.pendingState(), timeout, os.ErrDeadlineExceeded)
		}
		sleep(ctx, min(wait, left))
		wait = min(2*wait, 20*time.Millisecond)
	}
}

// connectState runs connectDone on the socket.
func (c *Conn) connectState() (done bool, err error) {
	if cerr := c.rc.Control(func(fd uintptr) { done, err = connectDone(int(fd)) }); cerr != nil {
		return true, cerr
	}
	return done, err
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// connectDone reports whether the association attempt is over, and its
// error. A TCP-style SCTP socket polls writable already while it waits for
// INIT ACK, so the state is checked, not just readiness. SCTP_STATUS fails
// with EINVAL until the association is established.
func connectDone(fd int) (bool, error) {
	soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return true, err
	}
	if soerr != 0 {
		return true, unix.Errno(soerr)
	}
	s, err := getStatus(fd)
	switch {
	case errors.Is(err, unix.EINVAL) && endedAlready(fd):
		// Established and already shut down by the peer: what it sent, and its
		// end, wait in the receive queue for the reader.
		return true, nil
	case errors.Is(err, unix.EINVAL):
		return false, nil
	case err != nil:
		return true, fmt.Errorf("association status: %w", err)
	case s.State == StateCookieWait || s.State == StateCookieEchoed:
		return false, nil
	case s.State == StateEmpty || s.State == StateClosed:
		return true, errors.New("association closed while connecting")
	}
	return true, nil
}

// endedAlready reports whether a socket whose SCTP_STATUS fails has something to
// read or has been shut down: a socket still connecting has neither, so it is one
// whose association came up and ended before the dialer looked.
func endedAlready(fd int) bool {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN | unix.POLLRDHUP}}
	n, err := unix.Poll(pfd, 0)
	return err == nil && n > 0 && pfd[0].Revents&(unix.POLLIN|unix.POLLRDHUP|unix.POLLHUP) != 0
}

// pendingState names what a timed-out association was waiting for. Linux
// answers SCTP_STATUS only once an association is established, so the state
// comes from /proc/net/sctp/assocs, found by the socket's inode.
func (c *Conn) pendingState() string {
	var st unix.Stat_t
	var serr error
	c.rc.Control(func(fd uintptr) { serr = unix.Fstat(int(fd), &st) })
	table, err := os.ReadFile("/proc/net/sctp/assocs")
	if serr != nil || err != nil {
		return "association not established"
	}
	switch state, _ := procAssocState(string(table), st.Ino); state {
	case procCookieWait:
		return "no answer to INIT"
	case procCookieEchoed:
		return "no answer to COOKIE ECHO"
	}
	return "association not established"
}

// connectErr says in words why an association attempt failed.
func connectErr(err error) error {
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return err
	}
	switch errno {
	case unix.ECONNREFUSED:
		// Linux says ECONNREFUSED too when the ABORT came after COOKIE ACK but
		// before the connecting call woke: the peer accepted and ended it at once.
		return fmt.Errorf("refused: the peer answered with ABORT before the association was up (nothing listening on that port, or it ended the association at once): %w", err)
	case unix.ETIMEDOUT:
		return fmt.Errorf("no answer to INIT after all retransmissions: %w", err)
	case unix.EHOSTUNREACH, unix.ENETUNREACH:
		return fmt.Errorf("unreachable: %w", err)
	case unix.ECONNRESET:
		return fmt.Errorf("aborted while connecting: %w: %w", ErrAborted, err)
	}
	return err
}

// localPort is the port a socket is bound to (the ephemeral one connect
// chose), or 0 if getsockname fails.
func localPort(fd int) uint16 {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return 0
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return uint16(sa.Port)
	case *unix.SockaddrInet6:
		return uint16(sa.Port)
	}
	return 0
}
