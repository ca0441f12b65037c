package proxy

import (
	"errors"
	"fmt"
	"slices"

	"github.com/sctpguard/sctpguard/config"
)

// errStopping refuses a reload once the daemon has begun to stop.
var errStopping = errors.New("the daemon is stopping")

// Apply puts a new, validated configuration in force without dropping an
// association:
//   - the global quota, every relay's socket quota and its association quota
//     apply at once, to live associations too (a smaller quota makes writers wait
//     until enough is released);
//   - upstream, streams, max_message, connect_timeout and nodelay apply to
//     associations accepted from now on;
//   - a new relay starts listening; a removed relay stops accepting and its
//     associations drain (see Serve); a relay whose listen addresses changed is
//     replaced: a new listener opens and the old one drains;
//   - shutdown.drain_timeout applies to the next stop.
//
// Apply opens every new listener before changing anything: if one fails, it
// closes the others and nothing has changed. A replaced relay's new addresses
// cannot overlap its old ones, which still listen; give it a new name, or restart.
// The cost block applies to relays that start after the reload; the daemon's
// other settings (admin socket, metrics listener, logging) are the caller's.
func (s *Server) Apply(cfg *config.Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return errStopping
	}
	next, fresh, err := s.plan(cfg)
	if err != nil {
		return err
	}
	s.cost = cfg.Cost.Model()
	s.global.SetLimit(cfg.Quota.Global)
	s.drainTimeout = cfg.Shutdown.DrainTimeout
	for _, r := range s.relays {
		if !slices.Contains(next, r) {
			s.retire(r)
		}
	}
	for i, r := range next {
		if slices.Contains(fresh, r) {
			s.log.Info("relay added", "relay", r.Name())
			if s.serving {
				s.start(r)
			}
			continue
		}
		r.update(cfg.Relays[i])
	}
	s.relays = next
	return nil
}

// plan builds the next list of relays: the running ones that stay, and new ones
// (listening already) for the added and replaced.
func (s *Server) plan(cfg *config.Config) (next, fresh []*Relay, err error) {
	running := make(map[string]*Relay, len(s.relays))
	for _, r := range s.relays {
		running[r.Name()] = r
	}
	for _, rc := range cfg.Relays {
		if r, ok := running[rc.Name]; ok && slices.Equal(r.cfg.Load().Listen, rc.Listen) {
			if style := r.cfg.Load().ListenStyle; style != rc.ListenStyle {
				closeAll(fresh)
				return nil, nil, fmt.Errorf("reload: relay %q: listen_style cannot change from %s to %s while the relay listens; restart, or give the relay new listen addresses",
					rc.Name, style, rc.ListenStyle)
			}
			next = append(next, r)
			continue
		}
		r := s.newRelay(rc)
		if err := r.listen(); err != nil {
			closeAll(fresh)
			return nil, nil, fmt.Errorf("reload: %w", err)
		}
		next = append(next, r)
		fresh = append(fresh, r)
	}
	return next, fresh, nil
}

// retire stops r accepting and drains its associations; it stays in status until
// its last association has ended.
func (s *Server) retire(r *Relay) {
	n := r.retire()
	s.log.Info("relay removed: draining", "relay", r.Name(), "associations", n)
	if s.serving {
		s.retiring = append(s.retiring, r)
	}
}
