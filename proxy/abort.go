package proxy

import (
	"context"
	"sync"
)

// pipesStop ends an association's pipes when it is aborted. Once both legs are
// aborted nothing can be relayed, but a pipe may be waiting for quota that only the
// kernel's acknowledgement of earlier messages would free, on a leg that is gone.
type pipesStop struct {
	mu      sync.Mutex
	cancel  context.CancelFunc
	stopped bool // stop came before context
}

// context returns the context the pipes run under, which stop cancels.
func (s *pipesStop) context(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cancel = cancel
	if s.stopped {
		cancel()
	}
	return ctx, cancel
}

// stop cancels the pipes' context, now or as soon as there is one.
func (s *pipesStop) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	if s.cancel != nil {
		s.cancel()
	}
}
