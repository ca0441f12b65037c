package proxy

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sync/errgroup"

	"github.com/sctpguard/sctpguard/config"
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
	relays  []*Relay
}

// NewServer builds the relays of cfg; nothing is opened until Listen.
func NewServer(cfg *config.Config, log hclog.Logger) *Server {
	s := &Server{
		started: time.Now(),
		log:     log,
		cost:    quota.CostModel{Overhead: cfg.Cost.Overhead},
		global:  quota.NewBudget("global", cfg.Quota.Global, nil),
	}
	for _, rc := range cfg.Relays {
		s.relays = append(s.relays, newRelay(rc, s.global, s.cost, log))
	}
	return s
}

// Listen opens every relay's listener; on any failure it closes the ones it opened.
func (s *Server) Listen() error {
	for i, r := range s.relays {
		if err := r.listen(); err != nil {
			for _, o := range s.relays[:i] {
				o.close()
			}
			return err
		}
	}
	return nil
}

// Relays are the server's relays, in configuration order.
func (s *Server) Relays() []*Relay { return s.relays }

// Serve accepts and relays until ctx ends, then closes the listeners and waits for
// every association to end (they end with ctx: see association.run).
func (s *Server) Serve(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, r := range s.relays {
		g.Go(func() error { return r.serve(gctx) })
	}
	<-gctx.Done()
	for _, r := range s.relays {
		if err := r.close(); err != nil {
			s.log.Warn("close listener", "error", err)
		}
	}
	err := g.Wait()
	for _, r := range s.relays {
		r.wait()
	}
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// Close closes every listener; for a server that will not Serve.
func (s *Server) Close() {
	for _, r := range s.relays {
		r.close()
	}
}
