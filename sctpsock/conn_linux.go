package sctpsock

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/ishidawataru/sctp"
	"golang.org/x/sys/unix"
)

// notificationSlack lets a notification exceed MaxMessage by its header, so
// a send-failed event can return a message of MaxMessage bytes.
const notificationSlack = 4096

// minReadBuffer is the first buffer ReadMsg allocates when given none.
const minReadBuffer = 4096

// Conn is one SCTP association on a one-to-one style socket. ReadMsg may run
// in one goroutine while WriteMsg runs in another; Close, Abort, Shutdown,
// Status and the deadline setters may be called from any goroutine.
type Conn struct {
	f           *os.File
	rc          syscall.RawConn
	maxMsg      int
	abortOnExit atomic.Bool // SO_LINGER is set to abort; Close clears it first
	closed      atomic.Bool
	readErr     error // sticky: reading cannot resume mid-message
	rd          readState
	wr          writeState
	pfd         [1]unix.PollFd // WaitReadable's poll set
	waitStep    func(fd uintptr) bool
	woken       bool         // WaitReadable's callback runs again: the poller woke it
	dry         Notification // the last SENDER_DRY read, reused (see Msg.Notification)
	dryRaw      [16]byte
}

// readState is the reader's state, kept in the Conn so that the poller
// callback and the msghdr need no allocation per read.
type readState struct {
	msg        unix.Msghdr
	iov        unix.Iovec
	oob        [256]byte
	buf        []byte // destination; the message is buf[:n]
	n          int
	flags      int // msg_flags of the message's first piece
	info       rcvInfo
	infoOK     bool
	err        error // set for a malformed control message
	errno      unix.Errno
	eor        bool
	eof        bool
	try        bool // TryReadMsg: do not wait before the first piece
	wouldBlock bool // nothing to read and try was set
	step       func(fd uintptr) bool
}

// writeState is the state of one sendmsg, kept so that the poller callback
// needs no allocation; Conn and Many share it.
type writeState struct {
	msg        unix.Msghdr
	iov        unix.Iovec
	oob        [sndInfoSpace]byte
	data       []byte
	errno      unix.Errno
	try        bool // TryWriteMsg: do not wait for room
	wouldBlock bool // no room and try was set
	step       func(fd uintptr) bool
}

func newConn(fd int, o Options) (*Conn, error) {
	f, err := newFile(fd, "sctp")
	if err != nil {
		return nil, err
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	c := &Conn{f: f, rc: rc, maxMsg: o.maxMessage()}
	c.abortOnExit.Store(o.AbortOnExit)
	c.rd.step = c.readStep
	c.waitStep = c.pollReadable
	c.wr.step = c.wr.sendmsg
	return c, nil
}

// ReadMsg reads one whole message or notification. It reassembles the
// pieces recvmsg returns until MSG_EOR into buf (from index 0, up to
// cap(buf)); when the message does not fit, it allocates a larger buffer, at
// most Options.MaxMessage bytes, and Msg.Data aliases that one. Passing
// m.Data[:cap(m.Data)] back in makes steady-state reads allocation-free.
//
// It returns io.EOF once the peer has shut down and all data is read, an
// error matching ErrAborted (and ECONNRESET) after an ABORT, a
// *TooLargeError for a message over MaxMessage, and net.ErrClosed after
// Close. A deadline or error in the middle of a message ends reading on the
// Conn: later calls return the same error.
//
// Linux reports an ABORT's error once, to whichever of ReadMsg and WriteMsg
// meets it first. A reader whose writer got it learns of the ABORT from the
// COMM_LOST notification (subscribed by default) before its next ReadMsg
// waits for good: a reader that skips notifications should not skip that one.
func (c *Conn) ReadMsg(buf []byte) (Msg, error) { return c.readMsg(buf, false) }

// TryReadMsg is ReadMsg that returns ErrWouldBlock at once, instead of waiting,
// when no message has begun to arrive. Once a message has begun it waits for the
// rest, like ReadMsg. With WaitReadable it lets a caller hold no buffer while idle.
func (c *Conn) TryReadMsg(buf []byte) (Msg, error) { return c.readMsg(buf, true) }

// WaitReadable parks on the poller until the socket has something to read (a
// message, a notification, the end of the association) or a read deadline or
// Close intervenes. It reads nothing.
func (c *Conn) WaitReadable() error {
	c.woken = false
	if err := c.rc.Read(c.waitStep); err != nil {
		return c.opErr("wait", err)
	}
	return nil
}

// pollReadable is the poller callback of WaitReadable. Its first call asks
// poll(2), without a timeout, whether anything is readable: the poller forgets
// readiness that came before the wait began. A later call follows a wake-up by
// the poller, which says there is something: the read that follows finds out,
// so the wait costs one system call, not two, and a spurious wake-up costs one
// read that would block and another wait.
func (c *Conn) pollReadable(fd uintptr) bool {
	if c.woken {
		return true
	}
	c.woken = true
	c.pfd[0] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
	var now unix.Timespec // zero: poll returns at once
	n, _, e := unix.RawSyscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&c.pfd[0])), 1,
		uintptr(unsafe.Pointer(&now)), 0, 0, 0) // see rawIO
	return e != unix.EINTR && (e != 0 || n > 0)
}

// rawIO: the data path's reads, writes and readiness checks never wait (the
// socket is non-blocking, every call passes MSG_DONTWAIT or a zero timeout), so
// they are made with RawSyscall, which does not tell the Go scheduler that the
// thread may block. With Syscall, a call that takes longer than the
// scheduler's monitor tick (20 µs, common in an emulated VM, and on loopback,
// where sendmsg also runs the receiver's side) lets the monitor hand the
// thread's P to another thread, waking it (futex) and keeping the monitor at
// its fastest tick (nanosleep): measured as more of those than of reads and
// writes per relayed message (docs/benchmarks.md). Calls that may wait (the
// poller's, connect, close) keep Syscall.

func (c *Conn) readMsg(buf []byte, try bool) (Msg, error) {
	if c.readErr != nil {
		return Msg{}, c.readErr
	}
	r := &c.rd
	*r = readState{msg: r.msg, iov: r.iov, step: r.step, buf: buf[:min(cap(buf), c.maxMsg)], try: try}
	defer r.release()
	for !r.eor {
		if r.n == len(r.buf) {
			if err := r.grow(c.limit()); err != nil {
				return c.failRead(err)
			}
		}
		if err := c.rc.Read(r.step); err != nil {
			return c.failRead(c.opErr("read", err))
		}
		if err := c.readResult(); err != nil {
			return c.failRead(err)
		}
	}
	return c.message()
}

// release lets go of the caller's buffer once a read is over: neither buf nor
// the iovec that points into it may keep it alive (a pipe's pooled read buffer,
// or a burst's backlog, held by every idle Conn that last read into it).
func (r *readState) release() { r.buf, r.iov = nil, unix.Iovec{} }

// readResult turns what readStep saw into an error, or nil to go on.
func (c *Conn) readResult() error {
	r := &c.rd
	switch {
	case r.wouldBlock:
		return ErrWouldBlock
	case r.err != nil:
		return fmt.Errorf("read: %w", r.err)
	case r.errno != 0:
		return c.opErr("read", r.errno)
	case r.eof && r.n > 0:
		return fmt.Errorf("read: association ended %d bytes into a message: %w", r.n, io.ErrUnexpectedEOF)
	case r.eof:
		return io.EOF
	}
	return nil
}

// failRead returns err, and keeps it for later reads if it struck in the
// middle of a message.
func (c *Conn) failRead(err error) (Msg, error) {
	if c.rd.n > 0 {
		c.readErr = err
	}
	return Msg{}, err
}

// limit is the most bytes the message being read may have.
func (c *Conn) limit() int {
	if c.rd.flags&msgNotification != 0 {
		return c.maxMsg + notificationSlack
	}
	return c.maxMsg
}

func (r *readState) grow(limit int) error {
	if r.n >= limit {
		return &TooLargeError{Read: r.n, Limit: limit}
	}
	nb := make([]byte, min(max(2*len(r.buf), minReadBuffer), limit))
	copy(nb, r.buf[:r.n])
	r.buf = nb
	return nil
}

// readStep is the poller callback: it reads pieces until the message ends,
// the buffer is full, or the socket would block (false: wait).
func (c *Conn) readStep(fd uintptr) bool {
	r := &c.rd
	for r.n < len(r.buf) {
		read, done := r.recvPiece(fd)
		if !read {
			return done
		}
		if r.err != nil || r.eor {
			return true
		}
	}
	return true
}

// recvPiece reads one piece into the rest of the buffer and records it (piece).
// read says whether it did; done is the poller callback's answer: false only to
// wait until the socket is readable. Nothing queued ends a try at the start of
// a message with wouldBlock, an error with errno, and the peer's end with eof.
func (r *readState) recvPiece(fd uintptr) (read, done bool) {
	for {
		got, flags, oobn, errno := r.recvmsg(fd)
		switch errno {
		case 0:
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			r.wouldBlock = r.try && r.n == 0
			return false, r.wouldBlock
		default:
			r.errno = errno
			return false, true
		}
		if got == 0 {
			r.eof = true
			return false, true
		}
		r.piece(got, flags, oobn)
		return true, true
	}
}

// piece records one recvmsg result.
func (r *readState) piece(got, flags, oobn int) {
	if r.n == 0 {
		r.flags = flags
		r.info, r.infoOK, r.err = parseRcvInfo(r.oob[:oobn])
	} else if (flags^r.flags)&msgNotification != 0 {
		r.err = fmt.Errorf("message interrupted after %d bytes by a piece of another kind", r.n)
	}
	r.n += got
	r.eor = flags&unix.MSG_EOR != 0
}

func (r *readState) recvmsg(fd uintptr) (n, flags, oobn int, errno unix.Errno) {
	p := r.buf[r.n:]
	r.iov.Base = &p[0]
	r.iov.SetLen(len(p))
	r.msg = unix.Msghdr{Iov: &r.iov, Control: &r.oob[0]}
	r.msg.SetIovlen(1)
	r.msg.SetControllen(len(r.oob))
	m, _, e := unix.RawSyscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&r.msg)), unix.MSG_DONTWAIT) // see rawIO
	if e != 0 {
		return 0, 0, 0, e
	}
	return int(m), int(r.msg.Flags), int(r.msg.Controllen), 0
}

// senderDry returns b as the Conn's reused SENDER_DRY notification, or nil if b is
// another notification (or malformed: ParseNotification then says why).
func (c *Conn) senderDry(b []byte) *Notification {
	if len(b) < snHeaderLen || NotificationType(binary.NativeEndian.Uint16(b)) != NotifySenderDry {
		return nil
	}
	length := binary.NativeEndian.Uint32(b[4:])
	if length < snHeaderLen || int(length) > len(b) || int(length) > len(c.dryRaw) {
		return nil
	}
	raw := c.dryRaw[:copy(c.dryRaw[:], b[:length])]
	c.dry = Notification{Type: NotifySenderDry, Flags: binary.NativeEndian.Uint16(b[2:]), Raw: raw}
	c.dry.AssocID, _ = notificationAssocID(NotifySenderDry, raw)
	return &c.dry
}

// message builds the Msg from a complete read.
func (c *Conn) message() (Msg, error) {
	r := &c.rd
	if r.flags&msgNotification != 0 {
		if n := c.senderDry(r.buf[:r.n]); n != nil {
			return Msg{Notification: n, AssocID: n.AssocID}, nil
		}
		n, err := ParseNotification(r.buf[:r.n])
		if err != nil {
			return Msg{}, fmt.Errorf("read: %w", err)
		}
		return Msg{Notification: n, AssocID: n.AssocID}, nil
	}
	if !r.infoOK {
		return c.failRead(errors.New("read: message came without SCTP_RCVINFO"))
	}
	return Msg{
		Data:      r.buf[:r.n],
		Stream:    r.info.Stream,
		PPID:      r.info.PPID,
		Unordered: r.info.Flags&sctpUnordered != 0,
		AssocID:   r.info.AssocID,
	}, nil
}

// WriteMsg sends m as one message on m.Stream with m.PPID and m.Unordered,
// waiting on the poller while the send buffer is full. Only one goroutine may
// call WriteMsg (or TryWriteMsg) at a time. Linux refuses (EMSGSIZE) a message
// larger than the socket's send buffer, SO_SNDBUF as the kernel reports it.
func (c *Conn) WriteMsg(m Msg) error { return c.writeMsg(m, false) }

// TryWriteMsg is WriteMsg that returns ErrWouldBlock at once, instead of
// waiting, when the send buffer has no room for m: a caller can then let go of
// what it need not hold while it waits, and call WriteMsg.
func (c *Conn) TryWriteMsg(m Msg) error { return c.writeMsg(m, true) }

func (c *Conn) writeMsg(m Msg, try bool) error {
	if err := checkWrite(m); err != nil {
		return err
	}
	w := &c.wr
	w.data, w.errno, w.try, w.wouldBlock = m.Data, 0, try, false
	putSndInfo(w.oob[:], m.Stream, sndFlags(m), m.PPID)
	err := c.rc.Write(w.step)
	w.release()
	if err != nil {
		return c.opErr("write", err)
	}
	if w.wouldBlock {
		return ErrWouldBlock
	}
	if w.errno == unix.EMSGSIZE {
		return c.tooLongErr(len(m.Data))
	}
	if w.errno != 0 {
		return c.opErr("write", w.errno)
	}
	return nil
}

// checkWrite refuses what SCTP cannot send as a message.
func checkWrite(m Msg) error {
	if m.Notification != nil {
		return errors.New("write: a notification cannot be sent")
	}
	if len(m.Data) == 0 {
		return errors.New("write: SCTP has no empty messages")
	}
	return nil
}

// tooLongErr explains EMSGSIZE: Linux refuses a message larger than the
// socket's send buffer.
func (c *Conn) tooLongErr(n int) error {
	sndbuf := -1
	c.rc.Control(func(fd uintptr) {
		sndbuf, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF)
	})
	return fmt.Errorf("write: message of %d bytes exceeds the send buffer (%d bytes; raise Options.SendBuffer and net.core.wmem_max): %w",
		n, sndbuf, unix.EMSGSIZE)
}

// release lets go of the caller's message once a write is over: neither data
// nor the iovec that points into it may keep it alive.
func (w *writeState) release() { w.data, w.iov = nil, unix.Iovec{} }

// sendmsg is the poller callback of a write: it sends w.data with the SCTP_SNDINFO
// in w.oob and reports whether the write is done (false: wait until writable).
func (w *writeState) sendmsg(fd uintptr) bool {
	w.iov = unix.Iovec{}
	if len(w.data) > 0 {
		w.iov.Base = &w.data[0]
		w.iov.SetLen(len(w.data))
	}
	w.msg = unix.Msghdr{Iov: &w.iov, Control: &w.oob[0]}
	w.msg.SetIovlen(1)
	w.msg.SetControllen(sndInfoSpace)
	for {
		_, _, e := unix.RawSyscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&w.msg)),
			unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT) // see rawIO
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			w.wouldBlock = w.try
			return w.try
		}
		w.errno = e
		return true
	}
}

// opErr wraps an I/O error with op, mapping a closed Conn to net.ErrClosed,
// ECONNRESET to ErrAborted, and EPIPE and ESHUTDOWN to ErrShutdown: Linux
// gives EPIPE once the peer's SHUTDOWN arrived and ESHUTDOWN once this end
// shut down (SHUT_WR).
func (c *Conn) opErr(op string, err error) error {
	switch {
	case c.closed.Load():
		return fmt.Errorf("%s: %w", op, net.ErrClosed)
	case errors.Is(err, unix.ECONNRESET):
		return fmt.Errorf("%s: %w: %w", op, ErrAborted, err)
	case errors.Is(err, unix.EPIPE), errors.Is(err, unix.ESHUTDOWN):
		return fmt.Errorf("%s: %w: %w", op, ErrShutdown, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// Status returns the association's SCTP_STATUS.
func (c *Conn) Status() (Status, error) {
	var s Status
	var serr error
	if err := c.rc.Control(func(fd uintptr) { s, serr = getStatus(int(fd)) }); err != nil {
		return Status{}, c.opErr("status", err)
	}
	if serr != nil {
		return Status{}, c.opErr("status", serr)
	}
	return s, nil
}

// Queued reports what the socket's queues hold as the kernel counts them
// (SO_MEMINFO): received and unread (sk_rmem_alloc), and written and not yet let
// go, unsent or unacknowledged (sk_wmem_queued: payload and buffers, the
// association's sndbuf_used on a one-to-one socket).
func (c *Conn) Queued() (recv, send int, err error) {
	var mem [unix.SK_MEMINFO_VARS]uint32
	var merr error
	if cerr := c.rc.Control(func(fd uintptr) {
		n := uint32(unsafe.Sizeof(mem))
		merr = getsockopt(int(fd), unix.SOL_SOCKET, unix.SO_MEMINFO, unsafe.Pointer(&mem), &n)
	}); cerr != nil {
		return 0, 0, c.opErr("meminfo", cerr)
	}
	if merr != nil {
		return 0, 0, c.opErr("meminfo", merr)
	}
	return int(mem[unix.SK_MEMINFO_RMEM_ALLOC]), int(mem[unix.SK_MEMINFO_WMEM_QUEUED]), nil
}

// SendQueued is what the kernel holds of the messages written on the
// association, unsent or unacknowledged: Queued's send.
func (c *Conn) SendQueued() (int, error) {
	_, send, err := c.Queued()
	return send, err
}

// LocalAddrs returns the association's local addresses.
func (c *Conn) LocalAddrs() ([]netip.AddrPort, error) {
	return c.addrs("local addresses", sctp.SCTP_GET_LOCAL_ADDRS)
}

// PeerAddrs returns the peer's addresses.
func (c *Conn) PeerAddrs() ([]netip.AddrPort, error) {
	return c.addrs("peer addresses", sctp.SCTP_GET_PEER_ADDRS)
}

func (c *Conn) addrs(op string, opt int) ([]netip.AddrPort, error) {
	var addrs []netip.AddrPort
	var aerr error
	if err := c.rc.Control(func(fd uintptr) { addrs, aerr = getAddrs(int(fd), opt) }); err != nil {
		return nil, c.opErr(op, err)
	}
	if aerr != nil {
		return nil, c.opErr(op, aerr)
	}
	return addrs, nil
}

// Shutdown starts a graceful end: the kernel sends SHUTDOWN once all queued
// data is delivered. The peer reads io.EOF after the last message. SCTP has
// no half-close: the peer can send nothing more either, and reads here end
// with io.EOF. Close the Conn afterwards.
func (c *Conn) Shutdown() error {
	var serr error
	if err := c.rc.Control(func(fd uintptr) { serr = unix.Shutdown(int(fd), unix.SHUT_WR) }); err != nil {
		return c.opErr("shutdown", err)
	}
	if serr != nil {
		return c.opErr("shutdown", serr)
	}
	return nil
}

// Abort ends the association at once with ABORT, dropping queued data, and
// closes the Conn. The peer's reads fail with ErrAborted.
func (c *Conn) Abort() error {
	if err := c.setLinger(true); err != nil {
		c.close()
		return c.opErr("abort", err)
	}
	return c.close()
}

// Close closes the socket and unblocks a pending ReadMsg or WriteMsg with an
// error matching net.ErrClosed. If nothing else was done the kernel ends the
// association gracefully (SHUTDOWN after queued data), but with ABORT if
// received data was left unread.
func (c *Conn) Close() error {
	if c.abortOnExit.Load() && !c.closed.Load() {
		c.setLinger(false) // a closed socket fails here, and Close reports it
	}
	return c.close()
}

// SetAbortOnExit sets Options.AbortOnExit on an open Conn: an accepted one has
// the Listener's Options.
func (c *Conn) SetAbortOnExit(on bool) error {
	if err := c.setLinger(on); err != nil {
		return c.opErr("abort on exit", err)
	}
	c.abortOnExit.Store(on)
	return nil
}

// setLinger sets SO_LINGER with a zero timeout (close aborts), or clears it.
func (c *Conn) setLinger(abort bool) error {
	var serr error
	linger := unix.Linger{}
	if abort {
		linger.Onoff = 1
	}
	err := c.rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptLinger(int(fd), unix.SOL_SOCKET, unix.SO_LINGER, &linger)
	})
	if err == nil {
		err = serr
	}
	return err
}

func (c *Conn) close() error {
	if c.closed.Swap(true) {
		return fmt.Errorf("close: %w", net.ErrClosed)
	}
	if err := c.f.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}

// SetReadDeadline sets the deadline for ReadMsg; zero means none.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if err := c.f.SetReadDeadline(t); err != nil {
		return c.opErr("set read deadline", err)
	}
	return nil
}

// SetWriteDeadline sets the deadline for WriteMsg; zero means none.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if err := c.f.SetWriteDeadline(t); err != nil {
		return c.opErr("set write deadline", err)
	}
	return nil
}

// SyscallConn gives access to the socket, for options this package does not
// set. Its Read and Write park on the runtime poller.
func (c *Conn) SyscallConn() (syscall.RawConn, error) { return c.rc, nil }
