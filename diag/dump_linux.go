package diag

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// ErrNoSCTPDiag means the kernel has no sock_diag handler for SCTP: the
// sctp_diag module is neither built in nor loadable (modprobe sctp_diag).
var ErrNoSCTPDiag = errors.New("diag: kernel has no sock_diag handler for SCTP")

// ErrInterrupted means the kernel's tables kept changing under every try of
// a dump, so no consistent one was had.
var ErrInterrupted = errors.New("diag: dump interrupted by concurrent changes")

const (
	dumpTries = 3
	// Ask for struct sctp_info and the socket memory counters: bits
	// 1<<(INET_DIAG_x - 1) in idiag_ext.
	extensions = 1<<(attrInfo-1) | 1<<(attrSkMemInfo-1)
	// Every state bit: with TCPF_LISTEN the kernel walks its endpoints, with
	// any other bit besides TCPF_CLOSE its associations.
	allStates   = 0xffffffff
	receiveWait = 5 // seconds without a reply before giving up
)

// Dump returns every SCTP endpoint and association in this network namespace,
// IPv4 sockets first. Listening sockets show up as endpoint rows; a socket
// with associations shows up as one endpoint row followed by one association
// row per association. See the package documentation.
func Dump() ([]Entry, error) {
	var all []Entry
	for _, fam := range []uint8{afInet, afInet6} {
		entries, err := dumpFamily(fam)
		if err != nil {
			return nil, err
		}
		all = append(all, entries...)
	}
	return all, nil
}

// dumpFamily dumps one address family, trying again when the kernel marks
// the dump inconsistent.
func dumpFamily(fam uint8) ([]Entry, error) {
	op := "sock_diag dump sctp " + familyName(fam)
	for range dumpTries {
		entries, err := dumpOnce(fam)
		if errors.Is(err, ErrInterrupted) {
			continue
		}
		if errors.Is(err, unix.ENOENT) {
			err = fmt.Errorf("%w (%w)", ErrNoSCTPDiag, err)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return entries, nil
	}
	return nil, fmt.Errorf("%s: %w", op, ErrInterrupted)
}

func dumpOnce(fam uint8) ([]Entry, error) {
	s, err := nl.Subscribe(unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, fmt.Errorf("open netlink socket: %w", err)
	}
	defer s.Close()
	if err := s.SetReceiveTimeout(&unix.Timeval{Sec: receiveWait}); err != nil {
		return nil, err
	}
	req := nl.NewNetlinkRequest(nl.SOCK_DIAG_BY_FAMILY, unix.NLM_F_DUMP)
	req.AddRawData(request(fam))
	if err := s.Send(req); err != nil {
		return nil, fmt.Errorf("send request: %w", err)
	}
	return receive(s, req.Seq)
}

// request builds struct inet_diag_req_v2 for a dump of all SCTP sockets of
// family fam.
func request(fam uint8) []byte {
	b := make([]byte, 56)
	b[0] = fam
	b[1] = unix.IPPROTO_SCTP
	b[2] = extensions
	native.PutUint32(b[4:], allStates)
	native.PutUint32(b[48:], ^uint32(0)) // idiag_cookie: INET_DIAG_NOCOOKIE
	native.PutUint32(b[52:], ^uint32(0))
	return b
}

// receive reads replies until NLMSG_DONE. It must not stop at the first
// message without NLM_F_MULTI, as nl.NetlinkRequest.Execute does: the kernel
// sends association rows without that flag in the middle of a dump.
func receive(s *nl.NetlinkSocket, seq uint32) ([]Entry, error) {
	var entries []Entry
	interrupted := false
	for {
		msgs, _, err := s.Receive()
		if err != nil {
			return nil, fmt.Errorf("receive: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Seq != seq {
				continue
			}
			interrupted = interrupted || m.Header.Flags&unix.NLM_F_DUMP_INTR != 0
			done, err := handle(m, &entries)
			if err != nil {
				return nil, err
			}
			if done && interrupted {
				return nil, ErrInterrupted
			}
			if done {
				return entries, nil
			}
		}
	}
}

// handle processes one reply; done reports the end of the dump.
func handle(m syscall.NetlinkMessage, entries *[]Entry) (done bool, err error) {
	switch m.Header.Type {
	case unix.NLMSG_DONE, unix.NLMSG_ERROR:
		return true, replyErr(m.Data)
	case nl.SOCK_DIAG_BY_FAMILY:
		e, err := parseMessage(m.Data)
		if err != nil {
			return true, fmt.Errorf("parse reply: %w", err)
		}
		*entries = append(*entries, e)
	}
	return false, nil
}

// replyErr decodes the error code that starts NLMSG_ERROR and (optionally)
// NLMSG_DONE.
func replyErr(b []byte) error {
	if len(b) < 4 {
		return nil
	}
	if errno := int32(native.Uint32(b)); errno < 0 {
		return unix.Errno(-errno)
	}
	return nil
}

func familyName(fam uint8) string {
	if fam == afInet6 {
		return "ipv6"
	}
	return "ipv4"
}

// InodeOf returns the inode number of a socket, the key of its rows in a
// dump. c is typically an *sctpsock.Conn or *sctpsock.Listener.
func InodeOf(c syscall.Conn) (uint32, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("socket inode: %w", err)
	}
	var st unix.Stat_t
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Fstat(int(fd), &st) }); err != nil {
		return 0, fmt.Errorf("socket inode: %w", err)
	}
	if serr != nil {
		return 0, fmt.Errorf("socket inode: fstat: %w", serr)
	}
	return uint32(st.Ino), nil
}
