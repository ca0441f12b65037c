package proxy

import (
	"fmt"
	"net/netip"

	"github.com/sctpguard/sctpguard/admin"
	"github.com/sctpguard/sctpguard/config"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// pathOptions are a relay's path settings, for both legs of its associations.
func pathOptions(cfg *config.Relay) sctpsock.PathOptions {
	return sctpsock.PathOptions{
		HeartbeatInterval:  cfg.Path.HeartbeatInterval,
		MaxRetransmissions: uint16(cfg.Path.MaxRetransmissions),
		RTOInitial:         cfg.Path.RTOInitial,
		RTOMin:             cfg.Path.RTOMin,
		RTOMax:             cfg.Path.RTOMax,
	}
}

// setupFront gives an accepted front association what the listener's options do not
// carry (and a reload may have changed since it opened): the relay's current path
// settings and abort on exit, before its first message is relayed.
func setupFront(front leg, o sctpsock.Options) error {
	if err := front.SetAbortOnExit(o.AbortOnExit); err != nil {
		return fmt.Errorf("front: %w", err)
	}
	if err := front.SetPathOptions(o.Path); err != nil {
		return fmt.Errorf("front path settings: %w", err)
	}
	return nil
}

// pathEvent logs a path's change of state on one leg (SCTP_PEER_ADDR_CHANGE)
// and counts it. A path becoming unreachable with another one left is a
// failover, not an error: the association goes on.
func (a *association) pathEvent(leg side, c *sctpsock.PeerAddrChange) {
	a.pathEvents.Add(1)
	a.totals.pathEvents.Add(1)
	a.log.Info("path state changed", "leg", leg, "address", c.Addr.String(), "state", c.State.String(), "error", c.Error)
	if leg == sideUpstream && (c.State == sctpsock.AddrAvailable || c.State == sctpsock.AddrConfirmed) && sameAddr(c.Addr, a.primary) {
		a.restorePrimary()
	}
}

// primarySetter is a leg whose primary path can be chosen: an upstream leg.
type primarySetter interface {
	SetPrimary(addr netip.AddrPort) error
}

// restorePrimary makes the configured primary path the upstream leg's primary
// again once it is usable: the kernel may have moved the primary elsewhere
// while it was down (net.sctp.ps_retrans, RFC 7829's primary path
// switchover), and it never moves it back by itself.
func (a *association) restorePrimary() {
	ps, ok := a.up.(primarySetter)
	if !ok {
		return
	}
	if err := ps.SetPrimary(a.primary); err != nil {
		a.log.Warn("cannot make the configured path primary again", "address", a.primary, "error", err)
		return
	}
	a.log.Debug("configured primary path set again", "address", a.primary)
}

// sameAddr reports whether x and y are the same address and port, an IPv4
// address and its IPv4-mapped IPv6 form alike; false if y is not valid.
func sameAddr(x, y netip.AddrPort) bool {
	return y.IsValid() && x.Port() == y.Port() && x.Addr().Unmap() == y.Addr().Unmap()
}

// addPaths fills in the paths of both legs, as the kernel sees them now.
func (a *association) addPaths(st *admin.AssocStatus) {
	st.PathsUpstream = legPaths(a.up)
	st.PathsFront = legPaths(a.front)
	st.PathEvents = a.pathEvents.Load()
}

// legPaths lists a leg's paths; nil once the leg has ended.
func legPaths(c leg) []admin.PathStatus {
	ps, err := c.Paths()
	if err != nil {
		return nil
	}
	var primary netip.AddrPort
	if st, err := c.Status(); err == nil {
		primary = st.Primary.Addr
	}
	out := make([]admin.PathStatus, len(ps))
	for i, p := range ps {
		out[i] = admin.PathStatus{Address: p.Addr.String(), State: p.State.String(), Primary: p.Addr == primary}
	}
	return out
}
