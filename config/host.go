package config

// Host is what validation knows of the host and the process that will run the
// relays, for the settings a file may hold but this kernel would refuse only
// once sockets are open. ReadHost reads it; the zero Host is unknown, and
// checks that need it are skipped.
type Host struct {
	// WmemMax is net.core.wmem_max in bytes: the most SO_SNDBUF a process
	// without CAP_NET_ADMIN may set. If zero, unknown.
	WmemMax int64
	// NetAdmin reports whether the process may set SO_SNDBUFFORCE
	// (CAP_NET_ADMIN in the initial user namespace), which WmemMax does not
	// cap.
	NetAdmin bool
	// NoMark reports that the process may not set SO_MARK, which a
	// transparent relay's mark needs (CAP_NET_ADMIN in the socket's network
	// namespace). If false, allowed or unknown.
	NoMark bool
	// UDPKnown reports that UDPPort was read.
	UDPKnown bool
	// UDPPort is net.sctp.udp_port of this network namespace: the UDP port
	// the kernel receives SCTP over UDP on and sends it from, 0 when off; -1
	// when the kernel has no SCTP over UDP (Linux before 5.11). Valid only
	// with UDPKnown.
	UDPPort int
}

// An Option adds to what Load and Parse check.
type Option func(*decoder)

// WithHost makes Load and Parse also refuse what host would refuse at run
// time (see Host). Parse without it stays a check of the file alone.
func WithHost(h Host) Option {
	return func(d *decoder) { d.host = h }
}

// sendBuffer returns the send buffer Linux gives a socket that asks for
// SO_SNDBUF n, and whether WmemMax capped it, or zero when unknown. The
// kernel keeps twice what it is given (sk_sndbuf) and caps what it is given
// at net.core.wmem_max unless the process forces it.
func (h Host) sendBuffer(n int64) (int64, bool) {
	switch {
	case h.NetAdmin:
		return 2 * n, false
	case h.WmemMax <= 0:
		return 0, false
	}
	return 2 * min(n, h.WmemMax), n > h.WmemMax
}
