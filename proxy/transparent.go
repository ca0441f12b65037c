package proxy

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"github.com/sctpguard/sctpguard/admin"
	"github.com/sctpguard/sctpguard/config"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// originalDster is a front leg that can say where its association was
// addressed before NAT: an association on its own socket.
type originalDster interface {
	OriginalDst() (netip.AddrPort, error)
}

// ownPorts are the local ports of a transparent relay's upstream sockets, from
// their INIT until they close: an accepted association from one of them is the
// relay's own connect, redirected back to it by a ruleset that does not exempt
// the relay's sockets. Ports are unique per host for SCTP: the upstream
// sockets bind the wildcard address, so no other socket holds the same port.
type ownPorts struct {
	mu    sync.Mutex
	ports map[uint16]int
}

func (o *ownPorts) add(port uint16) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ports == nil {
		o.ports = make(map[uint16]int)
	}
	o.ports[port]++
}

func (o *ownPorts) remove(port uint16) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ports[port]--; o.ports[port] <= 0 {
		delete(o.ports, port)
	}
}

func (o *ownPorts) has(port uint16) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ports[port] > 0
}

// fromSelf refuses a front association whose peer is one of the relay's own
// upstream sockets: relayed, it would dial again, and be redirected again,
// without end.
func (o *ownPorts) fromSelf(cfg *config.Relay, front leg) error {
	peers, err := front.PeerAddrs()
	if err != nil || len(peers) == 0 || !o.has(peers[0].Port()) {
		return nil
	}
	return &refusedError{reason: admin.EndRelayLoop, err: fmt.Errorf("the association comes from the relay's own upstream socket %s, redirected back to it: the ruleset does not exempt the relay's sockets; exempt them before the DNAT rule (meta mark %#x, or meta skuid of sctpguard's user)", peers[0], cfg.Mark)}
}

// upstreamOf is where an accepted association is relayed: the relay's upstream
// addresses, or, for a transparent relay, the destination its application
// addressed before netfilter's DNAT sent it here. orig is that destination;
// invalid for a relay that is not transparent.
func (r *Relay) upstreamOf(cfg *config.Relay, front leg) (target []netip.AddrPort, orig netip.AddrPort, err error) {
	if !cfg.Transparent {
		return cfg.Upstream, netip.AddrPort{}, nil
	}
	if err := r.own.fromSelf(cfg, front); err != nil {
		return nil, orig, err
	}
	od, ok := front.(originalDster)
	if !ok {
		return nil, orig, &refusedError{reason: admin.EndNoOriginalDst, err: errors.New("original destination: the front socket is shared by many associations")}
	}
	orig, err = od.OriginalDst()
	switch {
	case errors.Is(err, sctpsock.ErrNoOriginalDst):
		return nil, orig, &refusedError{reason: admin.EndNoOriginalDst, err: fmt.Errorf("%w: it reached the relay without connection tracking (is nf_conntrack loaded, and does a notrack rule match it?)", err)}
	case err != nil:
		return nil, orig, &refusedError{reason: admin.EndNoOriginalDst, err: err}
	case isListenAddr(cfg, orig):
		return nil, orig, &refusedError{reason: admin.EndNoOriginalDst, err: fmt.Errorf("original destination %s is the relay's own address: the association was not redirected by netfilter, and relaying it would connect to the relay itself; applications must address their peer, and the ruleset DNAT it here", orig)}
	}
	return []netip.AddrPort{orig}, orig, nil
}

// isListenAddr reports whether ap is an address the relay listens on.
func isListenAddr(cfg *config.Relay, ap netip.AddrPort) bool {
	return slices.ContainsFunc(cfg.Listen, func(l netip.AddrPort) bool {
		return l.Port() == ap.Port() && l.Addr().Unmap() == ap.Addr().Unmap()
	})
}

// heartbeatDisabler is a front leg whose heartbeats can be stopped per address.
type heartbeatDisabler interface {
	DisableHeartbeat(addr netip.AddrPort) error
}

// quietUntranslated stops heartbeats to every address of a transparent
// relay's front peer but the first, the one its INIT came from. Conntrack
// tracks each path of an association on its own, and NAT rewrites the packet
// headers of the paths its rules match, never the addresses listed inside
// INIT: the relay learns the application's other addresses as they are, and a
// heartbeat sent there, from the relay's own port, reaches a socket that knows
// no such association, whose kernel answers with ABORT, ending it. Unconfirmed
// and never heartbeated, those paths carry nothing; the association keeps the
// path the rules translate. It returns the addresses it quieted. It runs after
// setupFront, whose heartbeat interval would enable them again.
func quietUntranslated(front leg) ([]netip.AddrPort, error) {
	hd, ok := front.(heartbeatDisabler)
	if !ok {
		return nil, nil
	}
	peers, err := front.PeerAddrs()
	if err != nil || len(peers) < 2 {
		return nil, err
	}
	for _, p := range peers[1:] {
		if err := hd.DisableHeartbeat(p); err != nil {
			return nil, err
		}
	}
	return peers[1:], nil
}
