package sctpsock

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"unsafe"

	"github.com/ishidawataru/sctp"
	"golang.org/x/sys/unix"
)

// Socket options ishidawataru/sctp does not define.
const (
	sctpFragIntl    = 18  // SCTP_FRAGMENT_INTERLEAVE
	sctpPDPoint     = 19  // SCTP_PARTIAL_DELIVERY_POINT
	sctpRecvRcvInfo = 32  // SCTP_RECVRCVINFO
	sctpEvent       = 127 // SCTP_EVENT
	msgNotification = sctp.MSG_NOTIFICATION
)

// sctpEventParam is struct sctp_event.
type sctpEventParam struct {
	AssocID int32
	Type    uint16
	On      uint8
	_       uint8
}

// getAddrsBuf is struct sctp_getaddrs with room for the addresses.
type getAddrsBuf struct {
	AssocID int32
	AddrNum uint32
	Addrs   [4096]byte
}

// Supported reports whether this kernel can open SCTP sockets.
func Supported() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_SCTP)
	if err != nil {
		return socketErr(err)
	}
	unix.Close(fd)
	return nil
}

func socketErr(err error) error {
	if errors.Is(err, unix.EPROTONOSUPPORT) {
		return fmt.Errorf("sctpsock: kernel has no SCTP: try modprobe sctp: %w", err)
	}
	return fmt.Errorf("sctpsock: open SCTP socket: %w", err)
}

func setsockopt(fd, level, opt int, p unsafe.Pointer, n uintptr) error {
	_, _, e := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(p), n, 0)
	if e != 0 {
		return e
	}
	return nil
}

func getsockopt(fd, level, opt int, p unsafe.Pointer, n *uint32) error {
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(p), uintptr(unsafe.Pointer(n)), 0)
	if e != 0 {
		return e
	}
	return nil
}

// family returns AF_INET6 if any address is IPv6, else AF_INET.
func family(addrs ...netip.Addr) int {
	for _, a := range addrs {
		if a.Is6() && !a.Is4In6() {
			return unix.AF_INET6
		}
	}
	return unix.AF_INET
}

// newSocket opens a non-blocking one-to-one SCTP socket and applies o.
func newSocket(fam int, o Options) (int, error) {
	fd, err := unix.Socket(fam, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_SCTP)
	if err != nil {
		return -1, socketErr(err)
	}
	if err := setupSocket(fd, fam, o); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func setupSocket(fd, fam int, o Options) error {
	if fam == unix.AF_INET6 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0); err != nil {
			return fmt.Errorf("setsockopt IPV6_V6ONLY: %w", err)
		}
	}
	im := sctp.InitMsg{NumOstreams: o.outStreams(), MaxInstreams: o.maxInStreams()}
	if err := setsockopt(fd, sctp.SOL_SCTP, sctp.SCTP_INITMSG, unsafe.Pointer(&im), unsafe.Sizeof(im)); err != nil {
		return fmt.Errorf("setsockopt SCTP_INITMSG: %w", err)
	}
	if err := setBuffers(fd, o); err != nil {
		return err
	}
	if o.Mark != 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, int(o.Mark)); err != nil {
			return fmt.Errorf("setsockopt SO_MARK %#x (needs CAP_NET_ADMIN): %w", o.Mark, err)
		}
	}
	if o.RemoteUDPPort != 0 {
		if err := setRemoteUDPPort(fd, o.RemoteUDPPort); err != nil {
			return err
		}
	}
	if err := setPathOptions(fd, o.Path); err != nil {
		return err
	}
	return setupConnOptions(fd, o)
}

func setBuffers(fd int, o Options) error {
	if err := setBuffer(fd, unix.SO_SNDBUF, unix.SO_SNDBUFFORCE, o.SendBuffer); err != nil {
		return fmt.Errorf("setsockopt SO_SNDBUF %d: %w", o.SendBuffer, err)
	}
	if err := setBuffer(fd, unix.SO_RCVBUF, unix.SO_RCVBUFFORCE, o.RecvBuffer); err != nil {
		return fmt.Errorf("setsockopt SO_RCVBUF %d: %w", o.RecvBuffer, err)
	}
	return nil
}

// setBuffer sets a buffer size when n > 0: with the FORCE option where the process
// may (CAP_NET_ADMIN), so net.core.[rw]mem_max does not cap it, else plainly.
func setBuffer(fd, opt, force, n int) error {
	if n <= 0 {
		return nil
	}
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, force, n) == nil {
		return nil
	}
	return unix.SetsockoptInt(fd, unix.SOL_SOCKET, opt, n)
}

// setupConnOptions sets what every connected socket needs; accepted sockets
// get it again in case the kernel did not copy it from the listener.
func setupConnOptions(fd int, o Options) error {
	if o.AbortOnExit {
		if err := unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1}); err != nil {
			return fmt.Errorf("setsockopt SO_LINGER: %w", err)
		}
	}
	if o.NoDelay {
		if err := unix.SetsockoptInt(fd, sctp.SOL_SCTP, sctp.SCTP_NODELAY, 1); err != nil {
			return fmt.Errorf("setsockopt SCTP_NODELAY: %w", err)
		}
	}
	if err := unix.SetsockoptInt(fd, sctp.SOL_SCTP, sctpRecvRcvInfo, 1); err != nil {
		return fmt.Errorf("setsockopt SCTP_RECVRCVINFO: %w", err)
	}
	if err := setPDPoint(fd); err != nil {
		return err
	}
	for _, t := range o.events() {
		ev := sctpEventParam{Type: uint16(t), On: 1}
		if err := setsockopt(fd, sctp.SOL_SCTP, sctpEvent, unsafe.Pointer(&ev), unsafe.Sizeof(ev)); err != nil {
			return fmt.Errorf("setsockopt SCTP_EVENT %v: %w", t, err)
		}
	}
	return nil
}

// setPDPoint enables partial delivery for messages of a quarter of the
// receive buffer or more. Without it Linux never delivers a message larger
// than the receive window: once the window is full of its fragments, further
// fragments are dropped and the association stalls. ReadMsg reassembles the
// pieces.
func setPDPoint(fd int) error {
	rcvbuf, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
	if err != nil {
		return fmt.Errorf("getsockopt SO_RCVBUF: %w", err)
	}
	if err := unix.SetsockoptInt(fd, sctp.SOL_SCTP, sctpPDPoint, max(rcvbuf/4, 1)); err != nil {
		return fmt.Errorf("setsockopt SCTP_PARTIAL_DELIVERY_POINT %d: %w", rcvbuf/4, err)
	}
	return nil
}

// toSCTPAddr packs addresses sharing one port for ishidawataru's
// ToRawSockAddrBuf.
func toSCTPAddr(ips []netip.Addr, port uint16) *sctp.SCTPAddr {
	a := &sctp.SCTPAddr{Port: int(port)}
	for _, ip := range ips {
		a.IPAddrs = append(a.IPAddrs, net.IPAddr{IP: ip.Unmap().AsSlice(), Zone: ip.Zone()})
	}
	return a
}

// bindx adds addresses to the socket's bound set (sctp_bindx ADD).
func bindx(fd int, ips []netip.Addr, port uint16) error {
	buf := toSCTPAddr(ips, port).ToRawSockAddrBuf()
	err := setsockopt(fd, sctp.SOL_SCTP, sctp.SCTP_SOCKOPT_BINDX_ADD, unsafe.Pointer(&buf[0]), uintptr(len(buf)))
	if err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	return nil
}

// connectx starts an association to all the peer's addresses
// (sctp_connectx). On a non-blocking socket it returns EINPROGRESS.
func connectx(fd int, ips []netip.Addr, port uint16) error {
	buf := toSCTPAddr(ips, port).ToRawSockAddrBuf()
	param := sctp.GetAddrsOld{AddrNum: int32(len(buf)), Addrs: uintptr(unsafe.Pointer(&buf[0]))}
	n := uint32(unsafe.Sizeof(param))
	err := getsockopt(fd, sctp.SOL_SCTP, sctp.SCTP_SOCKOPT_CONNECTX3, unsafe.Pointer(&param), &n)
	if errors.Is(err, unix.ENOPROTOOPT) {
		err = setsockopt(fd, sctp.SOL_SCTP, sctp.SCTP_SOCKOPT_CONNECTX, unsafe.Pointer(&buf[0]), uintptr(len(buf)))
	}
	runtime.KeepAlive(buf)
	return err
}

// getAddrs reads SCTP_GET_LOCAL_ADDRS or SCTP_GET_PEER_ADDRS.
func getAddrs(fd, opt int) ([]netip.AddrPort, error) { return getAddrsOf(fd, opt, 0) }

// getAddrsOf is getAddrs for association id of a one-to-many socket (0: the
// socket's own, for local addresses).
func getAddrsOf(fd, opt int, id int32) ([]netip.AddrPort, error) {
	p := getAddrsBuf{AssocID: id}
	n := uint32(unsafe.Sizeof(p))
	if err := getsockopt(fd, sctp.SOL_SCTP, opt, unsafe.Pointer(&p), &n); err != nil {
		return nil, err
	}
	// The kernel sets the length to the bytes of addresses, without the
	// 8-byte header.
	end := min(int(n), len(p.Addrs))
	return parseAddrs(p.Addrs[:end], int(p.AddrNum))
}

// getStatus reads SCTP_STATUS.
func getStatus(fd int) (Status, error) {
	var s sctp.Status
	n := uint32(unsafe.Sizeof(s))
	if err := getsockopt(fd, sctp.SOL_SCTP, sctp.SCTP_STATUS, unsafe.Pointer(&s), &n); err != nil {
		return Status{}, err
	}
	return convertStatus(&s), nil
}

func convertStatus(s *sctp.Status) Status {
	p := &s.PrimaryPeerAddr
	addr, _, _ := parseSockaddr(p.Address[:]) // zero when the kernel left it empty
	return Status{
		AssocID:            int32(s.AssocID),
		State:              AssocState(s.State),
		PeerRwnd:           s.RWND,
		Unacked:            s.Unackdata,
		Pending:            s.Penddata,
		InStreams:          s.Instreams,
		OutStreams:         s.Ostreams,
		FragmentationPoint: s.FragmentationPoint,
		Primary: PathInfo{
			Addr:  addr,
			State: PathState(p.State),
			Cwnd:  p.CWND,
			SRTT:  msDuration(p.SRTT),
			RTO:   msDuration(p.RTO),
			MTU:   p.MTU,
		},
	}
}

// newFile hands a non-blocking fd to the runtime poller.
func newFile(fd int, name string) (*os.File, error) {
	f := os.NewFile(uintptr(fd), name)
	if f == nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sctpsock: invalid descriptor %d", fd)
	}
	return f, nil
}

// sctpRemoteUDPEncapsPort is SCTP_REMOTE_UDP_ENCAPS_PORT (Linux 5.11).
const sctpRemoteUDPEncapsPort = 132

// udpEncapsLen is struct sctp_udpencaps: an association id, a sockaddr_storage
// (8-aligned, at 8) and the port (at 136), padded to 144.
const udpEncapsLen = 144

// setRemoteUDPPort sets the peer's UDP encapsulation port for the socket's
// future associations: association id 0, any address, the port in network
// byte order, as the kernel stores it.
func setRemoteUDPPort(fd int, port uint16) error {
	var b [udpEncapsLen]byte
	binary.BigEndian.PutUint16(b[136:], port)
	if err := setsockopt(fd, sctp.SOL_SCTP, sctpRemoteUDPEncapsPort, unsafe.Pointer(&b[0]), udpEncapsLen); err != nil {
		if errors.Is(err, unix.ENOPROTOOPT) {
			return fmt.Errorf("setsockopt SCTP_REMOTE_UDP_ENCAPS_PORT %d: this kernel has no SCTP over UDP (Linux 5.11 and later): %w", port, err)
		}
		return fmt.Errorf("setsockopt SCTP_REMOTE_UDP_ENCAPS_PORT %d: %w", port, err)
	}
	return nil
}
