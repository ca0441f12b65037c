package sctpsock

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Defaults used where an Options field is zero.
const (
	DefaultStreams     = 16
	DefaultMaxMessage  = 256 << 10
	DefaultInitTimeout = 5 * time.Second
)

// Options configures the sockets made by Listen and Dial. The zero value is
// usable: every zero field means the default documented on it.
type Options struct {
	// OutStreams is the number of outbound streams requested at association
	// set-up (SCTP_INITMSG sinit_num_ostreams). The peer may grant fewer.
	// If zero, 16.
	OutStreams uint16
	// MaxInStreams is the most inbound streams accepted from the peer
	// (sinit_max_instreams); a peer asking for more gets this many. A relay
	// that must carry any stream id a peer uses passes 65535.
	// If zero, 16.
	MaxInStreams uint16
	// NoDelay sets SCTP_NODELAY: send small messages at once instead of
	// bundling them (Nagle).
	NoDelay bool
	// SendBuffer sets SO_SNDBUF when greater than zero. The kernel doubles
	// the value; it is capped at net.core.wmem_max unless the process has
	// CAP_NET_ADMIN (SO_SNDBUFFORCE is tried first). If zero, the kernel default.
	SendBuffer int
	// RecvBuffer sets SO_RCVBUF (SO_RCVBUFFORCE where allowed) when greater
	// than zero; it fixes the receive window offered at association set-up, so
	// it must be set before Listen or Dial. If zero, the kernel default.
	RecvBuffer int
	// MaxMessage is the largest message ReadMsg reassembles; a larger one
	// yields a *TooLargeError. If zero, 256 KiB.
	MaxMessage int
	// InitTimeout bounds how long Dial waits for the association to come up,
	// in addition to the deadline of its context. If zero, 5 s.
	InitTimeout time.Duration
	// Events lists the notifications to subscribe to (SCTP_EVENT).
	// If nil, DefaultEvents.
	Events []NotificationType
	// Path tunes heartbeats and retransmission timeouts: how fast the kernel
	// notices a dead path and moves to another. The zero value keeps the
	// kernel's defaults.
	Path PathOptions
	// AbortOnExit makes the kernel end the association with ABORT if the
	// process dies (SIGKILL, a crash) without closing the Conn (SO_LINGER
	// with a zero timeout). By default the kernel closes such a socket like
	// Close, gracefully when nothing is left unread, and the peer takes
	// SHUTDOWN to mean that everything it sent was taken care of. Close still
	// ends gracefully; Abort aborts either way.
	AbortOnExit bool
	// Mark sets SO_MARK on the socket when not zero: every packet it sends
	// carries the mark, which netfilter rules (meta mark) and policy routing
	// match. Setting it needs CAP_NET_ADMIN (or CAP_NET_RAW). If zero, none.
	Mark uint32
	// RemoteUDPPort, if not zero, sends the socket's associations over UDP
	// (RFC 6951) to that port of the peer (SCTP_REMOTE_UDP_ENCAPS_PORT):
	// Linux 5.11 and later, and only while net.sctp.udp_port, the local port
	// the kernel sends from and receives on, is set in the socket's network
	// namespace when it is opened. If zero, plain SCTP over IP.
	RemoteUDPPort uint16
	// OnConnect, if not nil, is called by Dial with the socket's local port
	// once its INIT is on its way, before Dial waits for the association: a
	// transparent relay uses it to recognize its own INIT redirected back to
	// it. If nil, nothing is called.
	OnConnect func(localPort uint16)
}

// DefaultEvents are the notifications subscribed to when Options.Events is
// nil.
var DefaultEvents = []NotificationType{
	NotifyAssocChange,
	NotifyPeerAddrChange,
	NotifySendFailedEvent,
	NotifyRemoteError,
	NotifyShutdown,
	NotifyPartialDelivery,
}

func (o Options) outStreams() uint16 {
	if o.OutStreams == 0 {
		return DefaultStreams
	}
	return o.OutStreams
}

func (o Options) maxInStreams() uint16 {
	if o.MaxInStreams == 0 {
		return DefaultStreams
	}
	return o.MaxInStreams
}

func (o Options) maxMessage() int {
	if o.MaxMessage <= 0 {
		return DefaultMaxMessage
	}
	return o.MaxMessage
}

func (o Options) initTimeout() time.Duration {
	if o.InitTimeout <= 0 {
		return DefaultInitTimeout
	}
	return o.InitTimeout
}

func (o Options) events() []NotificationType {
	if o.Events == nil {
		return DefaultEvents
	}
	return o.Events
}

// Msg is one SCTP message, or one notification.
type Msg struct {
	// Data is the message. From ReadMsg it aliases the buffer passed in (or
	// the larger one ReadMsg had to allocate) and is valid until the next
	// ReadMsg with that buffer.
	Data []byte
	// Stream is the stream id.
	Stream uint16
	// PPID is the payload protocol identifier as IANA numbers it: the four
	// bytes on the wire read in network byte order (46 is Diameter). It is
	// carried verbatim: what ReadMsg returns, WriteMsg puts back on the wire
	// bit for bit.
	PPID uint32
	// Unordered is the U bit: deliver without regard to stream order.
	Unordered bool
	// SackImmediately, on a write, asks the receiver to acknowledge the message
	// at once (the I bit of RFC 7053, SCTP_SACK_IMMEDIATELY) instead of after its
	// delayed-SACK timer: the SACK carries the receiver's current window. Reads
	// leave it false; it is not part of the message.
	SackImmediately bool
	// AssocID is the association the message or notification belongs to, as
	// the kernel names it (SCTP_RCVINFO rcv_assoc_id, or the notification's
	// assoc id field): what tells the associations of a one-to-many socket
	// (Many) apart. WriteMsg ignores it; Many.WriteMsg takes the id apart.
	AssocID int32
	// More is set on a piece of a message read by Many.TryReadPiece: Data is
	// not the whole message, and later pieces of the association's, the last
	// with More false, continue it (see Assembler). Other reads return whole
	// messages, with More false.
	More bool
	// Notification, when non-nil, makes this message an event from the
	// kernel (MSG_NOTIFICATION), never data; Data is then nil. A SENDER_DRY
	// notification, which a busy sender gets after every burst, is kept in
	// the Conn and valid until the next read: copy it to keep it.
	Notification *Notification
}

// Errors callers branch on; test with errors.Is.
var (
	// ErrMessageTooLarge: a message exceeded Options.MaxMessage. The error
	// returned is a *TooLargeError.
	ErrMessageTooLarge = errors.New("sctpsock: message too large")
	// ErrAborted: the association was aborted (the peer sent ABORT, or the
	// kernel gave up on it). The error also matches syscall.ECONNRESET.
	ErrAborted = errors.New("sctpsock: association aborted")

	// ErrShutdown: the association is shutting down (SHUTDOWN sent or received),
	// so the kernel accepts no new message on it (EPIPE, or ESHUTDOWN after this
	// end's own Shutdown).
	ErrShutdown = errors.New("sctpsock: association shutting down")

	// ErrWouldBlock: TryReadMsg found nothing to read, or TryWriteMsg no
	// room to write.
	ErrWouldBlock = errors.New("sctpsock: would block")

	// ErrNoDescriptor: Accept found the process out of file descriptors and
	// aborted the association it could not take (see Listener.Accept).
	ErrNoDescriptor = errors.New("sctpsock: no file descriptor for a new association")
)

// TooLargeError reports a message larger than Options.MaxMessage. On a Conn the
// rest of the message is still queued in the kernel, so the Conn can read no
// further: every later ReadMsg returns the same error. The caller should Abort.
// A Many (and an Assembler) drops the rest as it comes and reads on; AssocID
// names the association to abort.
type TooLargeError struct {
	Read  int // bytes of the message read so far
	Limit int // the limit that was exceeded
	// AssocID is the association that sent the message, set by Many, whose
	// socket goes on with its other associations.
	AssocID int32
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("sctpsock: message larger than %d bytes (read %d so far)", e.Limit, e.Read)
}

// Is makes errors.Is(err, ErrMessageTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrMessageTooLarge }

// AssocState is an association's state as SCTP_STATUS reports it
// (sstat_state).
type AssocState int32

// Association states, numbered as Linux's enum sctp_sstat_state.
const (
	StateEmpty            AssocState = 0
	StateClosed           AssocState = 1
	StateCookieWait       AssocState = 2
	StateCookieEchoed     AssocState = 3
	StateEstablished      AssocState = 4
	StateShutdownPending  AssocState = 5
	StateShutdownSent     AssocState = 6
	StateShutdownReceived AssocState = 7
	StateShutdownAckSent  AssocState = 8
)

var assocStateNames = [...]string{"EMPTY", "CLOSED", "COOKIE_WAIT", "COOKIE_ECHOED",
	"ESTABLISHED", "SHUTDOWN_PENDING", "SHUTDOWN_SENT", "SHUTDOWN_RECEIVED", "SHUTDOWN_ACK_SENT"}

func (s AssocState) String() string {
	if s >= 0 && int(s) < len(assocStateNames) {
		return assocStateNames[s]
	}
	return fmt.Sprintf("STATE(%d)", int32(s))
}

// PathState is the state of one peer address (spinfo_state).
type PathState int32

// Path states, numbered as Linux's enum sctp_spinfo_state.
const (
	PathInactive    PathState = 0
	PathPF          PathState = 1 // potentially failed
	PathActive      PathState = 2
	PathUnconfirmed PathState = 3
	PathUnknown     PathState = 0xffff
)

func (s PathState) String() string {
	switch s {
	case PathInactive:
		return "INACTIVE"
	case PathPF:
		return "PF"
	case PathActive:
		return "ACTIVE"
	case PathUnconfirmed:
		return "UNCONFIRMED"
	case PathUnknown:
		return "UNKNOWN"
	}
	return fmt.Sprintf("PATH(%d)", int32(s))
}

// PathInfo describes one peer address (struct sctp_paddrinfo).
type PathInfo struct {
	Addr  netip.AddrPort
	State PathState
	Cwnd  uint32        // congestion window, bytes
	SRTT  time.Duration // smoothed round-trip time
	RTO   time.Duration // retransmission timeout
	MTU   uint32        // path MTU, bytes
}

// Status is an association's state from SCTP_STATUS.
type Status struct {
	AssocID            int32
	State              AssocState
	PeerRwnd           uint32 // the peer's advertised receive window, bytes
	Unacked            uint16 // DATA chunks sent and not yet acknowledged
	Pending            uint16 // DATA chunks queued and not yet sent
	InStreams          uint16
	OutStreams         uint16
	FragmentationPoint uint32 // largest user message sent in one chunk, bytes
	Primary            PathInfo
}

func msDuration(ms uint32) time.Duration { return time.Duration(ms) * time.Millisecond }
