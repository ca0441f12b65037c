package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sctpguard/sctpguard/admin"
	"github.com/sctpguard/sctpguard/config"
	"github.com/sctpguard/sctpguard/gate"
	"github.com/sctpguard/sctpguard/quota"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// Relay serves one relay block: its listener, and one association pair per accepted
// front association.
type Relay struct {
	cfg    atomic.Pointer[config.Relay]
	log    hclog.Logger
	cost   quota.CostModel
	obs    *gate.Observer // the process's: releases every association's charges
	budget *quota.Budget  // the relay's socket level; its parent is the global budget
	front  frontSocket    // where front associations come from; nil until listen

	mu       sync.Mutex
	assocs   map[uint64]*association
	nextID   atomic.Uint64
	wg       sync.WaitGroup // one per association, from accept to end
	draining atomic.Bool    // retired: no more accepts, every association drains
	dialing  chan struct{}  // one slot per upstream connect in progress (see dial)
	// connecting counts the associations accepted and not yet paired (see
	// admit): each holds a goroutine, two sockets and the reserves of its
	// accounts, so max_connecting bounds them.
	connecting atomic.Int64
	totals     totals
	own        ownPorts // a transparent relay's upstream sockets (see fromSelf)
}

func newRelay(cfg config.Relay, global *quota.Budget, cost quota.CostModel, obs *gate.Observer, log hclog.Logger) *Relay {
	r := &Relay{
		log:     log.Named(cfg.Name),
		cost:    cost,
		obs:     obs,
		budget:  quota.NewBudget(cfg.Name, cfg.Quota.Socket, global),
		assocs:  make(map[uint64]*association),
		dialing: make(chan struct{}, maxDialing),
	}
	r.cfg.Store(&cfg)
	return r
}

// listen opens the relay's front endpoint.
func (r *Relay) listen() error {
	cfg := r.cfg.Load()
	if cfg.ListenStyle == config.StyleOneToMany {
		return r.listenShared(cfg)
	}
	ln, err := sctpsock.Listen(cfg.Listen, r.frontOptions(cfg))
	if err != nil {
		return fmt.Errorf("relay %q: listen %v: %w", cfg.Name, cfg.Listen, err)
	}
	r.front = oneToOneFront{ln}
	r.log.Info("listening", append([]any{"addrs", fmt.Sprint(ln.Addrs())}, upstreamFields(cfg)...)...)
	return nil
}

// upstreamFields say where the relay connects, for its "listening" line.
func upstreamFields(cfg *config.Relay) []any {
	f := []any{"upstream", fmt.Sprint(cfg.Upstream)}
	if cfg.Transparent {
		f = []any{"upstream", "each association's original destination (transparent)", "mark", fmt.Sprintf("%#x", cfg.Mark)}
	}
	if cfg.UpstreamUDPPort != 0 {
		f = append(f, "upstream_udp_port", cfg.UpstreamUDPPort)
	}
	if cfg.FrontUDP {
		f = append(f, "front_udp", true)
	}
	return f
}

func (r *Relay) frontOptions(cfg *config.Relay) sctpsock.Options {
	return sctpsock.Options{
		OutStreams:   cfg.Streams,
		MaxInStreams: cfg.Streams,
		NoDelay:      cfg.NoDelay,
		MaxMessage:   int(cfg.MaxMessage),
		// The kernel doubles both. The send buffer holds what the quota admits; the
		// receive buffer half of it (the window offered is half of that). A pipe
		// waiting for quota holds it at what is queued (srcBuffer).
		SendBuffer: int(cfg.Quota.Association / 2),
		RecvBuffer: int(cfg.Quota.Association / 4),
		Events:     relayEvents,
	}
}

// relayEvents are the notifications a relay's sockets subscribe to: the defaults.
// Not SENDER_DRY: the gate's observer samples the send queue, and reading an
// event after every burst would cost the other pipe a read per burst.
var relayEvents = sctpsock.DefaultEvents

// Addrs are the addresses the relay listens on (with the port the kernel chose for 0).
func (r *Relay) Addrs() []netip.AddrPort { return r.front.addrs() }

// serve accepts associations until the listener is closed, then waits for every
// association to end (by itself, by drain, or by abort when ctx ends).
func (r *Relay) serve(ctx context.Context) {
	r.acceptLoop(ctx)
	r.wg.Wait()
	if err := r.front.close(); err != nil && !closedErr(err) {
		r.log.Warn("close front socket", "error", err)
	}
}

// acceptLoop accepts associations until the listener is closed.
func (r *Relay) acceptLoop(ctx context.Context) {
	for {
		front, err := r.front.accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			r.log.Error("accept", "error", err)
			if !sleepCtx(ctx, acceptRetry) {
				return
			}
			continue
		}
		r.totals.accepted.Add(1)
		if !r.admit() {
			r.refuseNow(front)
			continue
		}
		r.wg.Add(1)
		go r.handle(ctx, front)
	}
}

// admit counts an accepted association as connecting, unless the relay already
// holds max_connecting of them; handle counts it out once it is paired or refused.
func (r *Relay) admit() bool {
	limit := r.cfg.Load().MaxConnecting
	if limit == 0 {
		limit = config.DefaultMaxConnecting // a Relay built in Go without ApplyDefaults
	}
	if r.connecting.Add(1) > int64(limit) {
		r.connecting.Add(-1)
		return false
	}
	return true
}

// refuseNow aborts an association accepted beyond max_connecting, from the
// accept loop: no goroutine, no upstream INIT, no quota.
func (r *Relay) refuseNow(front leg) {
	r.log.Warn("association refused", "front", peerString(front), "reason", admin.EndTooManyConnecting,
		"error", fmt.Sprintf("%d associations already wait for an upstream connect (max_connecting)", r.connecting.Load()))
	r.totals.refuse(admin.EndTooManyConnecting)
	front.Abort()
}

// close stops accepting; live associations go on until they end or ctx ends.
func (r *Relay) close() error {
	if r.front == nil {
		return nil // never listened
	}
	return r.front.stopListening()
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
