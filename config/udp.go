package config

// checkUDP reports SCTP over UDP that this host cannot carry: a relay reaching
// its upstream over UDP, or accepting fronts over it, needs net.sctp.udp_port
// set in sctpguard's network namespace before its sockets open (the kernel's
// UDP tunnel socket sends from and receives on that port).
func (d *decoder) checkUDP(r *Relay) {
	p := relayField(r.Name)
	field := p + ".upstream_udp_port"
	if r.UpstreamUDPPort == 0 {
		if !r.FrontUDP {
			return
		}
		field = p + ".front_udp"
	}
	switch h := d.host; {
	case !h.UDPKnown:
	case h.UDPPort < 0:
		d.errorf(d.at[field], field, "this kernel has no SCTP over UDP (net.sctp.udp_port is missing; Linux 5.11 and later have it); remove %s", lastWord(field))
	case h.UDPPort == 0:
		d.errorf(d.at[field], field, "net.sctp.udp_port is 0 in this network namespace, so the kernel neither sends nor receives SCTP over UDP; set it before starting sctpguard: sysctl -w net.sctp.udp_port=9899 (RFC 6951's port), and in /etc/sysctl.d to keep it")
	}
}
