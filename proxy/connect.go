package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sctpguard/sctpguard/admin"
	"github.com/sctpguard/sctpguard/config"
	"github.com/sctpguard/sctpguard/quota"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// handle pairs an accepted front association with a new upstream association and
// relays between them until both end. It is the goroutine of one association.
func (r *Relay) handle(ctx context.Context, front leg) {
	defer r.wg.Done()
	cfg := r.cfg.Load()
	id := r.nextID.Add(1)
	frontAddr := peerString(front)
	log := r.log.With("assoc", id, "front", frontAddr)
	a, err := r.pair(ctx, cfg, front, id, log)
	r.connecting.Add(-1)
	if a != nil {
		a.frontAddr = frontAddr
	}
	if err != nil {
		log.Warn("association refused", "error", err)
		r.totals.refuse(refusal(err))
		front.Abort()
		return
	}
	r.track(a)
	defer r.untrack(a)
	if r.draining.Load() {
		go a.drain() // assoc-drainer, as in retire: the relay was retired during the set-up
	}
	a.run(ctx)
	if a.upPort != 0 {
		r.own.remove(a.upPort) // run closed the upstream socket
	}
	r.totals.add(a)
}

// pair dials upstream with at least as many streams as the front negotiated, opens the
// quota accounts and builds both pipes.
func (r *Relay) pair(ctx context.Context, cfg *config.Relay, front leg, id uint64, log hclog.Logger) (*association, error) {
	fst, err := front.Status()
	if err != nil {
		// The application may have sent its messages and shut down before the accept:
		// they wait in the socket, so relay them with the configured streams.
		log.Debug("front association already gone; relaying what it queued", "error", err)
		fst = sctpsock.Status{InStreams: cfg.Streams, OutStreams: cfg.Streams}
	}
	target, orig, err := r.upstreamOf(cfg, front)
	if err != nil {
		return nil, err
	}
	if orig.IsValid() {
		log = log.With("original_dst", orig)
	}
	opts := r.frontOptions(cfg)
	opts.OutStreams = max(cfg.Streams, fst.InStreams)
	opts.MaxInStreams = max(cfg.Streams, fst.OutStreams)
	opts.InitTimeout = cfg.ConnectTimeout
	opts.Path = pathOptions(cfg)
	// If sctpguard dies, both peers must see ABORT: a graceful SHUTDOWN would tell
	// them that everything they sent was relayed.
	opts.AbortOnExit = true
	if err := setupFront(front, opts); err != nil {
		return nil, err
	}
	if cfg.Transparent {
		quiet, err := quietUntranslated(front)
		if err != nil {
			return nil, fmt.Errorf("front: %w", err)
		}
		if len(quiet) > 0 {
			log.Debug("front paths that NAT does not translate are left unused", "addrs", fmt.Sprint(quiet))
		}
	}
	// The reserves are taken before the upstream INIT: an association the
	// budgets cannot admit costs the peer nothing, and one waiting for its
	// connect is charged like one relaying.
	accts, err := r.openAccounts(cfg)
	if err != nil {
		return nil, err
	}
	opts.Mark = cfg.Mark // only the upstream socket: the ruleset exempts what it sends
	opts.RemoteUDPPort = cfg.UpstreamUDPPort
	var upPort uint16
	if cfg.Transparent {
		opts.OnConnect = func(port uint16) { upPort = port; r.own.add(port) }
	}
	up, err := r.dial(ctx, cfg, target, opts)
	if err != nil {
		if upPort != 0 {
			r.own.remove(upPort)
		}
		closeAccounts(accts.each())
		return nil, &refusedError{reason: admin.EndUnreachable, err: fmt.Errorf("upstream unreachable: %w", err)}
	}
	if p := cfg.Path.Primary; p.IsValid() {
		if err := up.SetPrimary(p); err != nil {
			// The peer may not have listed that address in its INIT ACK: the
			// association works on the kernel's choice.
			log.Warn("cannot make the configured path primary", "address", p, "error", err)
		}
	}
	ust, err := up.Status()
	if err != nil {
		// The peer may have sent its messages and shut down before this look (Dial
		// returns such an association): they and the SHUTDOWN_COMPLETE event wait in
		// the socket, so relay them with the streams asked for.
		log.Debug("upstream association already gone; relaying what it queued", "error", err)
		ust = sctpsock.Status{InStreams: opts.MaxInStreams, OutStreams: opts.OutStreams}
	}
	upAddr := peerString(up)
	a := &association{id: id, relay: cfg.Name, log: log.With("upstream", upAddr), front: front, up: connLeg{up}, upAddr: upAddr,
		started: time.Now(), accts: accts, primary: cfg.Path.Primary, origDst: orig, upPort: upPort}
	a.frontEnds, a.upEnds = front.statusEnds(), a.up.statusEnds()
	a.toUp = r.newPipe(a, toUpstream, front, a.up, ust.OutStreams, ust.FragmentationPoint, a.accts.toUp)
	a.toFront = r.newPipe(a, toFront, a.up, front, fst.OutStreams, fst.FragmentationPoint, a.accts.toFront)
	a.toUp.onNotify = func(n *sctpsock.Notification) error { return a.notify(sideFront, n) }
	a.toFront.onNotify = func(n *sctpsock.Notification) error { return a.notify(sideUpstream, n) }
	return a, nil
}

// dial connects to upstream once one of the relay's maxDialing slots is free; the
// wait for a slot does not count against connect_timeout.
func (r *Relay) dial(ctx context.Context, cfg *config.Relay, target []netip.AddrPort, opts sctpsock.Options) (*sctpsock.Conn, error) {
	select {
	case r.dialing <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-r.dialing }()
	dctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	return sctpsock.Dial(dctx, nil, target, opts)
}

// openAccounts opens an association's quota account for each direction, with
// their reserves.
func (r *Relay) openAccounts(cfg *config.Relay) (accounts, error) {
	var opened []*quota.Account
	for range 2 {
		acct, err := r.budget.Open(cfg.Quota.Association, 0)
		if err != nil {
			closeAccounts(opened)
			return accounts{}, &refusedError{reason: admin.EndQuotaExhausted, err: fmt.Errorf("open quota: %w", err)}
		}
		opened = append(opened, acct)
	}
	return accounts{toUp: opened[0], toFront: opened[1]}, nil
}

func closeAccounts(accts []*quota.Account) {
	for _, a := range accts {
		a.Close()
	}
}

func (r *Relay) newPipe(a *association, dir direction, src, dst leg, dstStreams uint16, frag uint32, acct *quota.Account) *pipe {
	g := r.obs.Open(acct, consumer{dst: dst}, frag, localReceiver(dst))
	p := &pipe{dir: dir, src: src, dst: dst, dstStreams: dstStreams, acct: acct, cost: r.cost, gate: g,
		stallTimeout: r.stallTimeout}
	p.onLost = func() { a.lost(p) }
	return p
}

// stallTimeout is the relay's stall_timeout as configured now.
func (r *Relay) stallTimeout() time.Duration { return r.cfg.Load().StallTimeout }

func (r *Relay) track(a *association) {
	r.mu.Lock()
	r.assocs[a.id] = a
	r.adopt(a)
	r.mu.Unlock()
}

func (r *Relay) untrack(a *association) {
	r.mu.Lock()
	delete(r.assocs, a.id)
	r.mu.Unlock()
}

// peerString is c's peer addresses, for logs and status.
func peerString(c interface {
	PeerAddrs() ([]netip.AddrPort, error)
}) string {
	addrs, err := c.PeerAddrs()
	if err != nil || len(addrs) == 0 {
		return "?"
	}
	if len(addrs) == 1 {
		return addrs[0].String()
	}
	return fmt.Sprint(addrs)
}

// refusedError is why a front association was refused before it was relayed.
type refusedError struct {
	reason admin.EndReason
	err    error
}

func (e *refusedError) Error() string { return e.err.Error() }
func (e *refusedError) Unwrap() error { return e.err }

// refusal is the end reason of a refused association.
func refusal(err error) admin.EndReason {
	if re, ok := errors.AsType[*refusedError](err); ok {
		return re.reason
	}
	return admin.EndIOError
}
