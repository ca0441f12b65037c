package proxy

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/sctpguard/sctpguard/config"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// Why a transparent relay refused an association before dialing (end reasons).
const (
	// endNoOriginalDst: the kernel gave no original destination, or gave the
	// relay's own address (the association was not redirected to it).
	endNoOriginalDst = "no_original_dst"
	// endRelayLoop: the relay's upstream connect was redirected back to the
	// relay itself; the ruleset does not exempt the relay's own sockets.
	endRelayLoop = "relay_loop"
)

// originalDster is a front leg that can say where its association was
// addressed before NAT: an association on its own socket.
type originalDster interface {
	OriginalDst() (netip.AddrPort, error)
}

// upstreamOf is where an accepted association is relayed: the relay's upstream
// addresses, or, for a transparent relay, the destination its application
// addressed before netfilter's DNAT sent it here. orig is that destination;
// invalid for a relay that is not transparent.
func upstreamOf(cfg *config.Relay, front leg) (target []netip.AddrPort, orig netip.AddrPort, err error) {
	if !cfg.Transparent {
		return cfg.Upstream, netip.AddrPort{}, nil
	}
	od, ok := front.(originalDster)
	if !ok {
		return nil, orig, &refusedError{reason: endNoOriginalDst, err: errors.New("original destination: the front socket is shared by many associations")}
	}
	orig, err = od.OriginalDst()
	switch {
	case errors.Is(err, sctpsock.ErrNoOriginalDst):
		return nil, orig, &refusedError{reason: endNoOriginalDst, err: fmt.Errorf("%w: it reached the relay without connection tracking (is nf_conntrack loaded, and does a notrack rule match it?)", err)}
	case err != nil:
		return nil, orig, &refusedError{reason: endNoOriginalDst, err: err}
	case isListenAddr(cfg, orig):
		return nil, orig, &refusedError{reason: endNoOriginalDst, err: fmt.Errorf("original destination %s is the relay's own address: the association was not redirected by netfilter, and relaying it would connect to the relay itself; applications must address their peer, and the ruleset DNAT it here", orig)}
	}
	return []netip.AddrPort{orig}, orig, nil
}

// isListenAddr reports whether ap is an address the relay listens on.
func isListenAddr(cfg *config.Relay, ap netip.AddrPort) bool {
	return slices.ContainsFunc(cfg.Listen, func(l netip.AddrPort) bool {
		return l.Port() == ap.Port() && l.Addr().Unmap() == ap.Addr().Unmap()
	})
}

// checkLoop refuses an upstream association of a transparent relay that
// reached the relay itself: netfilter redirected the relay's own INIT back to
// its listener, whose INIT ACK then lists the listen address among the peer's.
// Relayed, every association would beget another without end.
func checkLoop(cfg *config.Relay, up leg) error {
	if !cfg.Transparent {
		return nil
	}
	peers, err := up.PeerAddrs()
	if err != nil {
		return nil // the association may have ended already: its pipes will tell
	}
	for _, p := range peers {
		if slices.ContainsFunc(cfg.Listen, func(l netip.AddrPort) bool { return l.Addr().Unmap() == p.Addr().Unmap() }) {
			return &refusedError{reason: endRelayLoop, err: fmt.Errorf("the upstream connect reached the relay itself (peer address %s is its listen address): the ruleset redirects the relay's own sockets; exempt them (meta mark %#x, or meta skuid of sctpguard's user) before the DNAT rule", p, cfg.Mark)}
		}
	}
	return nil
}
