package proxy

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sctpguard/sctpguard/config"
	"github.com/sctpguard/sctpguard/gate"
	"github.com/sctpguard/sctpguard/quota"
)

// Server runs every relay of a configuration under one global budget.
type Server struct {
	// Version is reported by Status. If empty, Status reports "".
	Version string

	started time.Time
	log     hclog.Logger
	cost    quota.CostModel
	global  *quota.Budget
	obs     *gate.Observer // releases the charges of every association, one goroutine

	mu           sync.Mutex
	relays       []*Relay // the configured relays, in configuration order
	retiring     []*Relay // removed or replaced by a reload, draining
	drainTimeout time.Duration
	serving      bool // Serve has started the relays
	stopping     bool // Serve is draining; no more reloads

	hard  context.Context // ends every association at once when cancelled
	abort context.CancelFunc
	wg    sync.WaitGroup // one per running relay
}

// NewServer builds the relays of cfg; nothing is opened until Listen.
func NewServer(cfg *config.Config, log hclog.Logger) *Server {
	s := &Server{
		started:      time.Now(),
		log:          log,
		cost:         cfg.Cost.Model(),
		global:       quota.NewBudget("global", cfg.Quota.Global, nil),
		obs:          gate.NewObserver(),
		drainTimeout: cfg.Shutdown.DrainTimeout,
	}
	s.hard, s.abort = context.WithCancel(context.Background())
	for _, rc := range cfg.Relays {
		s.relays = append(s.relays, s.newRelay(rc))
	}
	return s
}

func (s *Server) newRelay(rc config.Relay) *Relay {
	return newRelay(rc, s.global, s.cost, s.obs, s.log)
}

// Listen opens every relay's listener; on any failure it closes the ones it opened.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.relays {
		if err := r.listen(); err != nil {
			closeAll(s.relays[:i])
			return err
		}
	}
	return nil
}

// Relays are the server's configured relays, in configuration order.
func (s *Server) Relays() []*Relay {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.relays)
}

// Serve accepts and relays until ctx ends, then drains: every relay stops accepting
// and every association is shut down gracefully, delivering what it holds (see
// association.drain). Associations still open after the drain timeout, or when
// Abort is called, are aborted. Serve returns once every association has ended.
func (s *Server) Serve(ctx context.Context) error {
	octx, stop := context.WithCancel(context.Background())
	observed := make(chan struct{})
	go func() { defer close(observed); s.obs.Run(octx) }() // gate-observer: until every association has ended
	defer func() { stop(); <-observed }()
	s.mu.Lock()
	for _, r := range s.relays {
		s.start(r)
	}
	s.serving = true
	s.mu.Unlock()
	<-ctx.Done()
	s.drain()
	return nil
}

// Abort ends every association at once with ABORT: for a second stop signal.
func (s *Server) Abort() { s.abort() }

// start runs r's accept loop and associations in a goroutine owned by the server.
func (s *Server) start(r *Relay) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		r.serve(s.hard)
		s.forget(r)
	}()
}

// forget drops a retired relay once its last association has ended.
func (s *Server) forget(r *Relay) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retiring = slices.DeleteFunc(s.retiring, func(o *Relay) bool { return o == r })
}

// drain stops every relay and waits for its associations, aborting them after the
// drain timeout or on Abort.
func (s *Server) drain() {
	s.mu.Lock()
	s.stopping = true
	relays := append(slices.Clone(s.relays), s.retiring...)
	timeout := s.drainTimeout
	s.mu.Unlock()
	n := 0
	for _, r := range relays {
		n += r.retire()
	}
	s.log.Info("draining", "associations", n, "timeout", timeout)
	done := make(chan struct{})
	go func() { // drain-waiter: ends when every relay goroutine has
		s.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
		s.log.Warn("drain timeout: aborting the associations left", "timeout", timeout, "associations", s.live())
	case <-s.hard.Done():
		s.log.Warn("aborting every association", "associations", s.live())
	}
	s.abort()
	<-done
}

// live counts the associations of every relay.
func (s *Server) live() int {
	s.mu.Lock()
	relays := append(slices.Clone(s.relays), s.retiring...)
	s.mu.Unlock()
	n := 0
	for _, r := range relays {
		n += r.count()
	}
	return n
}

// Close closes every listener; for a server that will not Serve.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	closeAll(s.relays)
}

func closeAll(relays []*Relay) {
	for _, r := range relays {
		r.close()
	}
}
