package proxy

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/sctpguard/sctpguard/config"
	"github.com/sctpguard/sctpguard/quota"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// listenShared opens the relay's front endpoint as one one-to-many socket and starts
// its reader (listen_style "one_to_many").
func (r *Relay) listenShared(cfg *config.Relay) error {
	o, snd, rcv := r.sharedOptions(cfg)
	m, err := sctpsock.ListenMany(cfg.Listen, o)
	if err != nil {
		return fmt.Errorf("relay %q: listen %v (one-to-many): %w", cfg.Name, cfg.Listen, err)
	}
	s, err := newSharedSocket(m, r.budget, r.log.Named("shared"))
	if err != nil {
		m.Close()
		return fmt.Errorf("relay %q: %w", cfg.Name, err)
	}
	s.pieces.asm.Limit = int(cfg.MaxMessage) // what the socket's reads allow (sharedOptions)
	s.cost = func() quota.CostModel { return r.cost }
	s.assoc = func() int64 { return r.cfg.Load().Quota.Association }
	r.front = s
	s.start()
	sndbuf, rcvbuf, _ := m.Buffers()
	r.log.Info("listening", "addrs", fmt.Sprint(m.LocalAddrs()), "upstream", fmt.Sprint(cfg.Upstream),
		"listen_style", cfg.ListenStyle, "sndbuf_policy", snd, "rcvbuf_policy", rcv, "so_sndbuf", sndbuf, "so_rcvbuf", rcvbuf)
	return nil
}

// sharedOptions are the front options for the shared socket. Its buffers are sized
// from quota.socket where the kernel accounts them per socket (net.sctp.sndbuf_policy
// and rcvbuf_policy 0, the default: every association on the socket shares them), and
// from quota.association where it accounts them per association (1), as for a
// one-to-one socket. It also returns the policies it read (-1 if unreadable, taken
// as 0: the smaller buffers).
func (r *Relay) sharedOptions(cfg *config.Relay) (o sctpsock.Options, snd, rcv int) {
	o = r.frontOptions(cfg)
	o.AbortOnExit = true // sctpguard dying must abort every front association on it
	o.Path = pathOptions(cfg)
	snd, rcv = sctpPolicy("sndbuf_policy"), sctpPolicy("rcvbuf_policy")
	if snd != 1 {
		o.SendBuffer = int(cfg.Quota.Socket / 2)
	}
	if rcv != 1 {
		o.RecvBuffer = int(cfg.Quota.Socket / 4)
	}
	return o, snd, rcv
}

// sctpPolicy reads net.sctp.NAME; -1 if it cannot.
func sctpPolicy(name string) int {
	b, err := os.ReadFile("/proc/sys/net/sctp/" + name)
	if err != nil {
		return -1
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return -1
	}
	return v
}
