package sctpsock

import (
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"github.com/ishidawataru/sctp"
	"golang.org/x/sys/unix"
)

// Many is a one-to-many style (SOCK_SEQPACKET) SCTP socket: one local endpoint
// holding associations to several peer endpoints, each named by the id the
// kernel gave it. Every message and notification read from it carries that id
// (Msg.AssocID); every write, shutdown, abort and status names one.
//
// SCTP allows one association between two endpoints: a Many holds at most one
// association with a given peer endpoint (address and port) at a time, and
// Connect to a peer it is associated with already fails with ErrAssocExists.
//
// The socket has fragment interleave on (SCTP_FRAGMENT_INTERLEAVE level 1):
// while one association's message is being delivered in pieces (partial
// delivery), the kernel goes on delivering the other associations' messages
// and pieces, each read naming its association, instead of holding them back
// until that message ends. Reads put the pieces together per association, so
// one sender withholding the rest of a message delays no other.
//
// One goroutine reads (WaitReadable, TryReadMsg, ReadMsg, TryReadPiece,
// ReadPiece); writes by id may come
// from any goroutine and are sent one at a time; the rest may be called from
// any goroutine.
type Many struct {
	c     *Conn // the socket; its read path is Many's (one reader)
	local []netip.AddrPort

	asm Assembler // TryReadMsg's messages under way, per association

	wmu sync.Mutex
	wr  writeState
}

// Errors of a Many; test with errors.Is.
var (
	// ErrAssocExists: the socket has an association with that peer endpoint
	// already (EISCONN, or EALREADY while it is being set up); SCTP allows one
	// between two endpoints.
	ErrAssocExists = errors.New("sctpsock: the socket already has an association with that peer endpoint")
	// ErrNoAssoc: the socket has no association with that id (EINVAL): it
	// ended, or never was.
	ErrNoAssoc = errors.New("sctpsock: no such association on the socket")
)

// OpenMany opens a one-to-many socket bound to local (one or more addresses
// sharing one port; port 0 picks one, which LocalAddrs reports) with o applied
// to the socket and to every association it will hold: buffers, streams,
// NODELAY, events, path settings, AbortOnExit. Nothing listens on it: it only
// makes associations (Connect).
func OpenMany(local []netip.AddrPort, o Options) (*Many, error) {
	return openMany("open one-to-many "+formatAddrs(local), local, o, false)
}

// ListenMany is OpenMany for a socket that also accepts associations: a peer's
// new association shows up as an assoc change COMM_UP with an id the reader has
// not seen, and is then like any other.
func ListenMany(local []netip.AddrPort, o Options) (*Many, error) {
	return openMany("listen one-to-many "+formatAddrs(local), local, o, true)
}

func openMany(op string, local []netip.AddrPort, o Options, listen bool) (*Many, error) {
	ips, port, err := splitAddrs(local)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	fd, err := unix.Socket(family(ips...), unix.SOCK_SEQPACKET|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_SCTP)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, socketErr(err))
	}
	if err := setupSocket(fd, family(ips...), o); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if err := unix.SetsockoptInt(fd, sctp.SOL_SCTP, sctpFragIntl, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: setsockopt SCTP_FRAGMENT_INTERLEAVE 1: %w", op, err)
	}
	if err := bindListen(fd, ips, port, listen); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	c, err := newConn(fd, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	m := &Many{c: c, asm: Assembler{Limit: o.maxMessage()}}
	m.wr.step = m.wr.sendmsg
	if m.local, err = getAddrs(fd, sctp.SCTP_GET_LOCAL_ADDRS); err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: local addresses: %w", op, err)
	}
	return m, nil
}

func bindListen(fd int, ips []netip.Addr, port uint16, listen bool) error {
	if listen {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return fmt.Errorf("setsockopt SO_REUSEADDR: %w", err)
		}
	}
	if err := bindx(fd, ips, port); err != nil {
		return err
	}
	if listen {
		if err := unix.Listen(fd, listenBacklog); err != nil {
			return fmt.Errorf("listen: %w", err)
		}
	}
	return nil
}

// StopListening makes the socket refuse new associations (listen with a
// backlog of 0: the kernel answers INIT with ABORT); those it holds go on.
func (m *Many) StopListening() error {
	var lerr error
	if err := m.c.rc.Control(func(fd uintptr) { lerr = unix.Listen(int(fd), 0) }); err != nil {
		return m.c.opErr("stop listening", err)
	}
	if lerr != nil {
		return m.c.opErr("stop listening", lerr)
	}
	return nil
}

// LocalAddrs are the addresses the socket is bound to, with the port it got.
func (m *Many) LocalAddrs() []netip.AddrPort { return m.local }

// Connect starts an association to the peer endpoint at remote (one or more
// addresses sharing one port) and returns its id at once (sctp_connectx). The
// association is up when the reader sees an assoc change COMM_UP with that id,
// and has failed when it sees CANT_STR_ASSOC (refused, or no answer to INIT
// after the kernel's retransmissions). A caller that dispatches what it reads
// by id must register the id before its reader can look it up: the event may
// be queued before Connect returns.
func (m *Many) Connect(remote []netip.AddrPort) (int32, error) {
	op := "connect " + formatAddrs(remote)
	rips, port, err := splitAddrs(remote)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	var id int32
	var cerr error
	if err := m.c.rc.Control(func(fd uintptr) { id, cerr = connectxID(int(fd), rips, port) }); err != nil {
		return 0, m.c.opErr(op, err)
	}
	switch {
	case errors.Is(cerr, unix.EISCONN), errors.Is(cerr, unix.EALREADY):
		return 0, fmt.Errorf("%s: %w: %w", op, ErrAssocExists, cerr)
	case cerr != nil:
		return 0, fmt.Errorf("%s: %w", op, connectErr(cerr))
	}
	return id, nil
}

// connectxID starts an association with SCTP_SOCKOPT_CONNECTX3, which hands
// back the new association's id even when the non-blocking connect returns
// EINPROGRESS (the setsockopt form returns the id only on completion).
func connectxID(fd int, ips []netip.Addr, port uint16) (int32, error) {
	buf := toSCTPAddr(ips, port).ToRawSockAddrBuf()
	param := sctp.GetAddrsOld{AddrNum: int32(len(buf)), Addrs: uintptr(unsafe.Pointer(&buf[0]))}
	n := uint32(unsafe.Sizeof(param))
	err := getsockopt(fd, sctp.SOL_SCTP, sctp.SCTP_SOCKOPT_CONNECTX3, unsafe.Pointer(&param), &n)
	runtime.KeepAlive(buf)
	if err != nil && !errors.Is(err, unix.EINPROGRESS) {
		return 0, err
	}
	// The kernel writes the id over the start of the argument.
	return param.AssocID, nil
}

// WaitReadable parks on the poller until the socket has a message or a
// notification to read, or Close intervenes.
func (m *Many) WaitReadable() error { return m.c.WaitReadable() }

// TryReadMsg reads one whole message or notification, of any association, or
// returns ErrWouldBlock at once when none is complete. Msg.AssocID names the
// association. A message that arrives in pieces (partial delivery, or larger
// than buf) is put together per association (see Assembler): reading never waits
// in the middle of one association's message, so a sender that withholds the
// rest of a message stalls no other association. Msg.Data aliases buf, or a
// buffer of the message's own when it came in pieces or did not fit.
//
// A message over Options.MaxMessage is dropped, its later pieces with it, and
// the *TooLargeError returned carries its association (TooLargeError.AssocID)
// so the caller can abort that one association: the socket goes on with the
// others. A partial delivery event (a message cut short, its association ending)
// drops what was read of the message and is returned like any notification.
// No error sticks: the next read starts afresh.
func (m *Many) TryReadMsg(buf []byte) (Msg, error) {
	for {
		p, err := m.TryReadPiece(buf)
		if err != nil {
			return Msg{}, err
		}
		if n := p.Notification; n != nil && n.Type == NotifyPartialDelivery {
			m.asm.Drop(p.AssocID)
		}
		msg, done, err := m.asm.Add(p)
		if err != nil || done {
			return msg, err
		}
		if cap(p.Data) > cap(buf) {
			buf = p.Data[:cap(p.Data)]
		}
	}
}

// ReadMsg is TryReadMsg that waits for a message.
func (m *Many) ReadMsg(buf []byte) (Msg, error) {
	return m.waiting(buf, m.TryReadMsg)
}

// TryReadPiece reads what one recvmsg returns of a message, of any association,
// or one whole notification, or returns ErrWouldBlock at once when nothing is
// there. Msg.More says that the message goes on in later pieces of the same
// association (Msg.AssocID), which may come after other associations' pieces and
// messages: a caller that holds the pieces itself (and charges them) uses this,
// with an Assembler, instead of TryReadMsg. Data aliases buf, which a piece fills
// at most; a notification larger than buf is read whole into a buffer of its
// own, up to Options.MaxMessage and its header. No error sticks.
func (m *Many) TryReadPiece(buf []byte) (Msg, error) {
	c := m.c
	if cap(buf) == 0 {
		buf = make([]byte, minReadBuffer)
	}
	r := &c.rd
	*r = readState{msg: r.msg, iov: r.iov, step: r.step, buf: buf[:cap(buf)], try: true}
	defer func() { r.buf = nil }()
	for {
		if r.n == len(r.buf) {
			if err := r.grow(c.limit()); err != nil {
				return Msg{}, err
			}
		}
		if err := c.rc.Read(m.pieceStep); err != nil {
			return Msg{}, c.opErr("read", err)
		}
		if err := c.readResult(); err != nil {
			return Msg{}, err
		}
		if r.flags&msgNotification == 0 || r.eor {
			return m.piece()
		}
	}
}

// ReadPiece is TryReadPiece that waits for a piece.
func (m *Many) ReadPiece(buf []byte) (Msg, error) {
	return m.waiting(buf, m.TryReadPiece)
}

func (m *Many) waiting(buf []byte, try func([]byte) (Msg, error)) (Msg, error) {
	for {
		msg, err := try(buf)
		if !errors.Is(err, ErrWouldBlock) {
			return msg, err
		}
		if err := m.WaitReadable(); err != nil {
			return Msg{}, err
		}
	}
}

// pieceStep is the poller callback of TryReadPiece: one recvmsg. The rest of a
// notification larger than the buffer waits at the head of the receive queue,
// so the next recvmsg continues it.
func (m *Many) pieceStep(fd uintptr) bool {
	_, done := m.c.rd.recvPiece(fd)
	return done
}

// piece builds the Msg of what TryReadPiece read.
func (m *Many) piece() (Msg, error) {
	r := &m.c.rd
	if r.flags&msgNotification != 0 {
		return m.c.message()
	}
	if !r.infoOK {
		return Msg{}, errors.New("read: a piece of a message came without SCTP_RCVINFO")
	}
	return Msg{
		Data:      r.buf[:r.n],
		Stream:    r.info.Stream,
		PPID:      r.info.PPID,
		Unordered: r.info.Flags&sctpUnordered != 0,
		AssocID:   r.info.AssocID,
		More:      !r.eor,
	}, nil
}

// WriteMsg sends msg as one message of association id, on msg.Stream with
// msg.PPID and msg.Unordered (SCTP_SNDINFO names the association), waiting on
// the poller while the send buffer is full. Writers are served one at a time:
// while one waits for buffer space, the others wait for it.
func (m *Many) WriteMsg(id int32, msg Msg) error {
	if err := checkWrite(msg); err != nil {
		return err
	}
	m.wmu.Lock()
	defer m.wmu.Unlock()
	return m.send("write", id, msg.Data, msg.Stream, sndFlags(msg), msg.PPID, false)
}

// TryWriteMsg is WriteMsg that returns ErrWouldBlock at once, instead of
// waiting, when the send buffer has no room for msg or another writer waits
// for room.
func (m *Many) TryWriteMsg(id int32, msg Msg) error {
	if err := checkWrite(msg); err != nil {
		return err
	}
	if !m.wmu.TryLock() {
		return ErrWouldBlock
	}
	defer m.wmu.Unlock()
	return m.send("write", id, msg.Data, msg.Stream, sndFlags(msg), msg.PPID, true)
}

// Shutdown starts the graceful end of association id (sendmsg with SCTP_EOF):
// the kernel sends SHUTDOWN once all its queued data is delivered. The other
// associations of the socket go on. The reader sees SHUTDOWN_COMP for id when
// it is over.
func (m *Many) Shutdown(id int32) error { return m.sendControl("shutdown", id, sctpEOF) }

// Abort ends association id at once with ABORT (sendmsg with SCTP_ABORT),
// dropping what it has queued. The other associations of the socket go on.
func (m *Many) Abort(id int32) error { return m.sendControl("abort", id, sctpAbort) }

// sendControl sends a message without data that only carries flags (SCTP_EOF,
// SCTP_ABORT). It needs no send buffer space, so it does not queue behind a
// writer waiting for some: ending one association must not wait for another.
func (m *Many) sendControl(op string, id int32, flags uint16) error {
	var oob [sndInfoSpace]byte
	putSndInfoFor(oob[:], 0, flags, 0, id)
	var errno unix.Errno
	err := m.c.rc.Control(func(fd uintptr) {
		var iov unix.Iovec
		msg := unix.Msghdr{Iov: &iov, Control: &oob[0]}
		msg.SetIovlen(1)
		msg.SetControllen(sndInfoSpace)
		for range 100 {
			_, _, errno = unix.Syscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&msg)), unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT)
			if errno != unix.EINTR && errno != unix.EAGAIN {
				return
			}
			time.Sleep(time.Millisecond)
		}
	})
	if err != nil {
		return m.c.opErr(op, err)
	}
	return m.errnoErr(op, id, 0, errno)
}

// send writes one message of association id; m.wmu is held. With try it
// returns ErrWouldBlock instead of waiting for room.
func (m *Many) send(op string, id int32, data []byte, stream, flags uint16, ppid uint32, try bool) error {
	w := &m.wr
	w.data, w.errno, w.try, w.wouldBlock = data, 0, try, false
	putSndInfoFor(w.oob[:], stream, flags, ppid, id)
	err := m.c.rc.Write(w.step)
	w.release()
	if err != nil {
		return m.c.opErr(op, err)
	}
	if w.wouldBlock {
		return ErrWouldBlock
	}
	return m.errnoErr(op, id, len(data), w.errno)
}

func (m *Many) errnoErr(op string, id int32, n int, errno unix.Errno) error {
	switch errno {
	case 0:
		return nil
	case unix.EMSGSIZE:
		return m.c.tooLongErr(n)
	case unix.EINVAL:
		return fmt.Errorf("%s: association %d: %w: %w", op, id, ErrNoAssoc, errno)
	}
	return fmt.Errorf("association %d: %w", id, m.c.opErr(op, errno))
}

// Status returns SCTP_STATUS of association id.
func (m *Many) Status(id int32) (Status, error) {
	var s Status
	var serr error
	if err := m.c.rc.Control(func(fd uintptr) { s, serr = getStatusOf(int(fd), id) }); err != nil {
		return Status{}, m.c.opErr("status", err)
	}
	if serr != nil {
		return Status{}, m.assocErr("status", id, serr)
	}
	return s, nil
}

func (m *Many) assocErr(op string, id int32, err error) error {
	if errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("%s: association %d: %w: %w", op, id, ErrNoAssoc, err)
	}
	return fmt.Errorf("association %d: %w", id, m.c.opErr(op, err))
}

// getStatusOf reads SCTP_STATUS of one association (sstat_assoc_id).
func getStatusOf(fd int, id int32) (Status, error) {
	s := sctp.Status{AssocID: sctp.SCTPAssocID(id)}
	n := uint32(unsafe.Sizeof(s))
	if err := getsockopt(fd, sctp.SOL_SCTP, sctp.SCTP_STATUS, unsafe.Pointer(&s), &n); err != nil {
		return Status{}, err
	}
	return convertStatus(&s), nil
}

// PeerAddrs returns the addresses of association id's peer.
func (m *Many) PeerAddrs(id int32) ([]netip.AddrPort, error) {
	return m.addrs("peer addresses", id, sctp.SCTP_GET_PEER_ADDRS)
}

// AssocLocalAddrs returns association id's local addresses.
func (m *Many) AssocLocalAddrs(id int32) ([]netip.AddrPort, error) {
	return m.addrs("local addresses", id, sctp.SCTP_GET_LOCAL_ADDRS)
}

func (m *Many) addrs(op string, id int32, opt int) ([]netip.AddrPort, error) {
	var addrs []netip.AddrPort
	var aerr error
	if err := m.c.rc.Control(func(fd uintptr) { addrs, aerr = getAddrsOf(int(fd), opt, id) }); err != nil {
		return nil, m.c.opErr(op, err)
	}
	if aerr != nil {
		return nil, m.assocErr(op, id, aerr)
	}
	return addrs, nil
}

// SetPathOptions applies p to every path of association id now; zero fields
// leave a setting as it is. Options.Path given to OpenMany applies to every
// association from the start.
func (m *Many) SetPathOptions(id int32, p PathOptions) error {
	var serr error
	if err := m.c.rc.Control(func(fd uintptr) { serr = setPathOptionsOf(int(fd), id, p) }); err != nil {
		return m.c.opErr("path options", err)
	}
	if serr != nil {
		return m.assocErr("path options", id, serr)
	}
	return nil
}

// Paths returns the state of every path of association id, one per peer
// address (SCTP_GET_PEER_ADDR_INFO naming the association).
func (m *Many) Paths(id int32) ([]PathInfo, error) {
	addrs, err := m.PeerAddrs(id)
	if err != nil {
		return nil, err
	}
	out := make([]PathInfo, 0, len(addrs))
	for _, a := range addrs {
		var p PathInfo
		var perr error
		err := m.c.rc.Control(func(fd uintptr) { p, perr = pathInfoOf(int(fd), id, a) })
		if err == nil {
			err = perr
		}
		if errors.Is(err, unix.EINVAL) {
			continue // the address, or the association, went away since PeerAddrs
		}
		if err != nil {
			return nil, m.assocErr("path "+a.String(), id, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// Buffers reports the socket's SO_SNDBUF and SO_RCVBUF as the kernel keeps
// them (twice what was set).
func (m *Many) Buffers() (snd, rcv int, err error) {
	var serr, rerr error
	if cerr := m.c.rc.Control(func(fd uintptr) {
		snd, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF)
		rcv, rerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	}); cerr != nil {
		return 0, 0, m.c.opErr("buffers", cerr)
	}
	if err := errors.Join(serr, rerr); err != nil {
		return 0, 0, m.c.opErr("buffers", err)
	}
	return snd, rcv, nil
}

// Queued reports what the socket's queues hold as the kernel counts them
// (SO_MEMINFO): received and unread (sk_rmem_alloc) and queued to send
// (sk_wmem_queued), summed over all its associations when
// net.sctp.rcvbuf_policy and sndbuf_policy are 0.
func (m *Many) Queued() (recv, send int, err error) { return m.c.Queued() }

// Close closes the socket: the kernel ends every association on it, with
// SHUTDOWN, or with ABORT under Options.AbortOnExit or where data was left
// unread. A pending read or write returns net.ErrClosed.
func (m *Many) Close() error { return m.c.Close() }
