package config

import (
	"net/netip"
	"os"
	"time"

	"github.com/sctpguard/sctpguard/quota"
)

// DefaultPath is where sctpguard looks for its configuration file when
// none is given on the command line.
const DefaultPath = "/etc/sctpguard/sctpguard.hcl"

// Documented defaults. Load and Parse fill them in for every setting the
// file leaves out; Default returns a Config holding them.
const (
	DefaultStreams          = 16
	DefaultMaxMessage       = 256 * KiB
	DefaultConnectTimeout   = 5 * time.Second
	DefaultMaxConnecting    = 256
	DefaultAssociationQuota = 1 * MiB
	DefaultGlobalQuota      = 256 * MiB
	DefaultHeader           = 576
	DefaultOverhead         = 1 * KiB
	DefaultAdminSocket      = "/run/sctpguard/admin.sock"
	DefaultAdminMode        = os.FileMode(0o600)
	DefaultLogLevel         = "info"
	DefaultLogFormat        = "text"
	DefaultDrainTimeout     = 10 * time.Second
	DefaultListenStyle      = StyleOneToOne
)

// Socket styles of a relay's front endpoint (listen_style), named after the
// one-to-one and one-to-many style interfaces of RFC 6458.
const (
	// StyleOneToOne gives every front association a socket of its own
	// (SOCK_STREAM): a stalled association stalls no other.
	StyleOneToOne = "one_to_one"
	// StyleOneToMany holds every front association on one shared socket
	// (SOCK_SEQPACKET), as SIGTRAN and Diameter stacks do: one receive queue,
	// read in arrival order, and buffers sized from quota.socket.
	StyleOneToMany = "one_to_many"
)

// Linux's defaults for the RTO (net.sctp.rto_initial, rto_min, rto_max), used to
// check a path block that sets only some of them.
const (
	LinuxRTOInitial = 3 * time.Second
	LinuxRTOMin     = 1 * time.Second
	LinuxRTOMax     = 60 * time.Second
)

// Limits on values accepted from the file.
const (
	// MaxMaxMessage is the largest max_message a relay accepts.
	MaxMaxMessage = 64 * MiB
	// MaxOverhead is the largest per-chunk overhead accepted in cost.
	MaxOverhead = 1 * MiB
	// MaxHeader is the largest cost.header accepted.
	MaxHeader = 64 * KiB
	// MinStallTimeout and MaxStallTimeout bound stall_timeout. A consumer
	// that reads is seen within the gate's probe interval (500 ms while the
	// overdraft is small), so a shorter timeout could end one that moves.
	MinStallTimeout = time.Second
	MaxStallTimeout = 24 * time.Hour
	// MaxMaxConnecting is the largest max_connecting a relay accepts.
	MaxMaxConnecting = 65535
	// MaxPathDuration bounds path timers (heartbeat interval, RTO).
	MaxPathDuration = 24 * time.Hour
	// maxSocketPath is the longest path a Unix socket address holds
	// (sun_path is 108 bytes including the terminating NUL).
	maxSocketPath = 107
)

// Config is a validated configuration. Load and Parse return it with every
// default applied, so consumers never substitute defaults themselves.
type Config struct {
	Relays   []Relay  // at least one; names unique
	Quota    Quota    // host-wide budget
	Cost     Cost     // how a message is charged
	Admin    Admin    // the admin socket
	Metrics  Metrics  // the Prometheus endpoint
	Log      Log      // logging
	Shutdown Shutdown // how the daemon stops
}

// Relay is one relay "NAME" block: a front endpoint that applications
// connect to and the one peer endpoint it relays them to. Every
// association accepted on Listen gets its own association to Upstream.
type Relay struct {
	// Name is the block label: unique, 1 to 63 characters of letters,
	// digits, '-', '_' and '.', starting with a letter or digit. It
	// labels metrics, log lines and status rows.
	Name string
	// Listen holds the local addresses of the front endpoint, all on the
	// same port (one multi-homed SCTP endpoint); at least one, no
	// duplicates. Port 0 picks an ephemeral port.
	Listen []netip.AddrPort
	// Upstream holds the addresses of the peer endpoint, all on the same
	// port 1..65535; at least one, no duplicates. Empty when Transparent.
	Upstream []netip.AddrPort
	// Transparent makes the relay connect each association to the
	// destination its application addressed before netfilter's DNAT sent it
	// to Listen (SO_ORIGINAL_DST), instead of to Upstream, which must then
	// be empty. Listen must then be one address, neither a wildcard nor
	// loopback, and ListenStyle one_to_one. If false, Upstream is used.
	Transparent bool
	// Mark, if not zero, is set as SO_MARK on every upstream socket of a
	// transparent relay, so that the ruleset that redirects applications'
	// associations to the relay can exempt the relay's own (meta mark).
	// Needs CAP_NET_ADMIN. Only with Transparent. If zero, no mark.
	Mark uint32
	// UpstreamUDPPort, if not zero, reaches the upstream peer over SCTP over
	// UDP (RFC 6951): the peer's UDP encapsulation port, 1..65535, set on
	// every upstream socket (SCTP_REMOTE_UDP_ENCAPS_PORT). Needs Linux 5.11
	// and net.sctp.udp_port set. If zero, plain SCTP.
	UpstreamUDPPort uint16
	// FrontUDP declares that applications reach the relay over SCTP over UDP
	// too: the kernel answers those on net.sctp.udp_port, which must then be
	// set (it is checked at start). If false, nothing is checked.
	FrontUDP bool
	// Streams is the number of outbound streams requested on both legs,
	// 1..65535. If zero, 16.
	Streams uint16
	// MaxMessage is the largest message relayed, in bytes, 1..64 MiB; a
	// larger message aborts its association. If zero, 256 KiB.
	MaxMessage int64
	// ConnectTimeout bounds the connect to Upstream. If zero, 5s.
	ConnectTimeout time.Duration
	// MaxConnecting bounds the associations accepted and not yet paired:
	// waiting to connect to Upstream or connecting, 1..65535. One accepted
	// beyond it is aborted at once. If zero, 256.
	MaxConnecting int
	// StallTimeout, if not zero, ends with ABORT an association whose
	// consumer has not moved (nothing it was sent was released) for that
	// long while a message toward it waits for its full quota; 1s..24h.
	// If zero, never.
	StallTimeout time.Duration
	// ListenStyle is StyleOneToOne or StyleOneToMany: one socket per front
	// association, or one socket for all of them. One-to-many needs
	// Quota.Socket, which then bounds the shared socket: its kernel buffers
	// and everything its associations hold. If empty, StyleOneToOne.
	ListenStyle string
	// NoDelay sets SCTP_NODELAY on both legs. If unset in the file,
	// true; a zero Relay built in Go has it false, so start from
	// DefaultRelay.
	NoDelay bool
	// Quota is the relay's budget.
	Quota RelayQuota
	// Path tunes failure detection on the paths of both legs. The zero
	// value keeps the kernel's defaults.
	Path RelayPath
}

// RelayPath tunes how fast the kernel notices that a path (one peer address)
// of an association is dead and moves to another: heartbeats and
// retransmission timeouts, set on both legs of every association
// (SCTP_PEER_ADDR_PARAMS, SCTP_RTOINFO). Durations are whole milliseconds.
// A zero field keeps the kernel's default, from net.sctp.*.
type RelayPath struct {
	// HeartbeatInterval is the time between heartbeats on an idle path,
	// 1ms..24h. If zero, the kernel's (30s).
	HeartbeatInterval time.Duration
	// MaxRetransmissions is how many consecutive retransmissions make a
	// path inactive, 1..65535. If zero, the kernel's (5).
	MaxRetransmissions int
	// RTOInitial, RTOMin and RTOMax bound the retransmission timeout,
	// each 1ms..24h, with RTOMin <= RTOInitial <= RTOMax where an unset one
	// counts at Linux's default (1s, 3s, 60s). If zero, the kernel's.
	RTOInitial, RTOMin, RTOMax time.Duration
	// Primary, if valid, is the upstream address made the primary path of
	// every upstream association (SCTP_PRIMARY_ADDR): one of Upstream. If
	// unset, the kernel's choice (the first address that answered).
	Primary netip.AddrPort
}

// RelayQuota bounds the true cost (payload plus Cost.Overhead per message)
// a relay holds on the host.
type RelayQuota struct {
	// Association is the budget of one association in each direction, in
	// bytes; at least Cost.Model().Worst(MaxMessage). If zero, 1 MiB.
	Association int64
	// Socket is the budget of the listener, all of its associations and
	// both directions together, in bytes; if set, at least Association and
	// enough, less its headroom, to lend one association one MaxMessage
	// beyond its reserves (see the package doc). If zero, the relay is
	// bounded only by the global quota.
	Socket int64
}

// Quota is the host-wide budget.
type Quota struct {
	// Global bounds the true cost held by all relays together, in bytes;
	// at least every relay's Association and Socket, and enough, less its
	// headroom, to lend one association of any relay one MaxMessage
	// beyond its reserves (see the package doc). If zero, 256 MiB.
	Global int64
}

// Cost is how the true cost of a message is computed. The kernel keeps each
// DATA chunk of a message in a buffer of its payload plus Header bytes,
// rounded up to a power of two, and Overhead bytes of structures besides:
//
//	cost of a chunk = pow2ceil(payload + Header) + Overhead
//
// and a message costs the sum over its chunks (one unless it is larger than
// the association's fragmentation point). `sctpguard calibrate` measures both
// on this host and prints the block to put in the file; Linux 6.1 measured
// ~542 and ~767 bytes: ~1.8 KB for a 1-byte message, ~33.5 KB for 16 KiB.
type Cost struct {
	// Header is added to a chunk's payload before its buffer size is
	// rounded up to a power of two, in bytes, 1 B..64 KiB. If zero, 576 B.
	Header int64
	// Overhead is the kernel's memory per chunk beyond its buffer, in
	// bytes, 1 B..1 MiB. If zero, 1 KiB.
	Overhead int64
}

// Admin is the Unix socket that `sctpguard status` and live tuning use.
type Admin struct {
	// Socket is the absolute path of the socket. If empty,
	// /run/sctpguard/admin.sock.
	Socket string
	// Mode holds the socket's permission bits; others get no access. If
	// zero, 0600.
	Mode os.FileMode
	// Group, if set, is a group (name or numeric id) whose members may read
	// the status and change the daemon (reload, profiles), with a mode such
	// as 0660. The socket is given it unless ReadGroup is set. If empty, the
	// group is left alone.
	Group string
	// ReadGroup, if set, is a group whose members may only read the status
	// (GET /v1/status); the socket is given it, and Mode must grant the
	// group read and write (0660), which connecting needs. Members of Group
	// must then be in ReadGroup as well to connect. If empty, none.
	ReadGroup string
}

// Metrics is the Prometheus endpoint.
type Metrics struct {
	// Listen is the host:port the HTTP endpoint serves /metrics on. If
	// empty, metrics are not served.
	Listen string
}

// Log is how the daemon logs.
type Log struct {
	// Level is one of trace, debug, info, warn or error. If empty, info.
	Level string
	// Format is text or json. If empty, text.
	Format string
}

// Shutdown is how the daemon stops.
type Shutdown struct {
	// DrainTimeout is how long, on SIGTERM, the daemon lets associations
	// finish relaying what they hold before aborting them. If zero, 10s.
	DrainTimeout time.Duration
}

// Default returns a Config with every default applied and no relays; add
// relays made by DefaultRelay.
func Default() *Config {
	c := &Config{}
	c.ApplyDefaults()
	return c
}

// DefaultRelay returns a relay with every default applied and no
// addresses.
func DefaultRelay(name string) Relay {
	r := Relay{Name: name, NoDelay: true}
	r.ApplyDefaults()
	return r
}

// ApplyDefaults sets every zero field that has a default to it, as Load
// does for what the file leaves out, so that a Config built in Go keeps
// the "If zero" promises. It cannot tell an unset Relay.NoDelay from
// false and leaves it alone.
func (c *Config) ApplyDefaults() {
	for i := range c.Relays {
		c.Relays[i].ApplyDefaults()
	}
	setDefault(&c.Quota.Global, DefaultGlobalQuota)
	setDefault(&c.Cost.Header, DefaultHeader)
	setDefault(&c.Cost.Overhead, DefaultOverhead)
	setDefault(&c.Admin.Socket, DefaultAdminSocket)
	setDefault(&c.Admin.Mode, DefaultAdminMode)
	setDefault(&c.Log.Level, DefaultLogLevel)
	setDefault(&c.Log.Format, DefaultLogFormat)
	setDefault(&c.Shutdown.DrainTimeout, DefaultDrainTimeout)
}

// ApplyDefaults sets every zero field of r that has a default to it,
// except NoDelay.
func (r *Relay) ApplyDefaults() {
	setDefault(&r.Streams, DefaultStreams)
	setDefault(&r.MaxMessage, DefaultMaxMessage)
	setDefault(&r.ConnectTimeout, DefaultConnectTimeout)
	setDefault(&r.MaxConnecting, DefaultMaxConnecting)
	setDefault(&r.Quota.Association, DefaultAssociationQuota)
	setDefault(&r.ListenStyle, DefaultListenStyle)
}

func setDefault[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}

// Model is the quota cost model c describes.
func (c Cost) Model() quota.CostModel {
	return quota.CostModel{Header: c.Header, Overhead: c.Overhead}
}
