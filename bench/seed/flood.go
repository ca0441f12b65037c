package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sctpguard/sctpguard/bench/internal/child"
	"github.com/sctpguard/sctpguard/bench/internal/peerns"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// receiverBuffer is the receiver's SO_RCVBUF, set on the listener so that
// accepted associations offer the window it implies.
const receiverBuffer = 8 << 20

// Where a row's receiver is. In sctpguard's network namespace its receive queue
// is visible to sctpguard (/proc/net/sctp/assocs); in another one, joined by a
// veth as a container is (package peerns), only its receive window is.
const (
	sameNetns  = "same"
	otherNetns = "other"
)

// receiverLink is the veth to the receiver's namespace (otherNetns).
var receiverLink = peerns.Link{
	Names: [2]string{"sgseed0", "sgseed1"},
	Addrs: [2]netip.Prefix{netip.MustParsePrefix("10.9.0.1/24"), netip.MustParsePrefix("10.9.0.2/24")},
}

// receiver accepts associations and never reads from them, until drain.
type receiver struct {
	l    *sctpsock.Listener
	addr netip.AddrPort
	done chan struct{} // closed when acceptLoop ends
	host *peerns.Host  // the receiver's own namespace, if not the bench's

	mu    sync.Mutex
	conns []*sctpsock.Conn
}

// listenReceiver starts the receiver in the bench's network namespace (where
// sameNetns) or in a namespace of its own behind a veth (otherNetns).
func listenReceiver(where string) (*receiver, error) {
	addr := netip.MustParseAddrPort("127.0.0.1:0")
	listen := func() (*sctpsock.Listener, error) {
		return sctpsock.Listen([]netip.AddrPort{addr}, sctpsock.Options{RecvBuffer: receiverBuffer})
	}
	r := &receiver{done: make(chan struct{})}
	var l *sctpsock.Listener
	var err error
	if where == otherNetns {
		if r.host, err = peerns.New(receiverLink); err != nil {
			return nil, fmt.Errorf("receiver: %w", err)
		}
		addr = netip.AddrPortFrom(r.host.Addr(), 0)
		err = r.host.In(func() (err error) { l, err = listen(); return err })
	} else {
		l, err = listen()
	}
	if err != nil {
		if r.host != nil {
			r.host.Close()
		}
		return nil, fmt.Errorf("receiver: %w", err)
	}
	r.l, r.addr = l, l.Addrs()[0]
	go r.acceptLoop()
	return r, nil
}

func (r *receiver) acceptLoop() {
	defer close(r.done)
	for {
		c, err := r.l.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		r.conns = append(r.conns, c)
		r.mu.Unlock()
	}
}

// waitConns waits until n associations are accepted, for at most 60 s.
func (r *receiver) waitConns(ctx context.Context, n int) ([]*sctpsock.Conn, error) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		r.mu.Lock()
		conns := append([]*sctpsock.Conn(nil), r.conns...)
		r.mu.Unlock()
		if len(conns) >= n {
			return conns, nil
		}
		if !time.Now().Before(deadline) || !sleep(ctx, 50*time.Millisecond) {
			return nil, fmt.Errorf("receiver accepted %d of %d associations within 60s", len(conns), n)
		}
	}
}

// close aborts every accepted association, which frees what the kernel
// holds for them at once, and stops listening.
func (r *receiver) close() {
	r.l.Close()
	<-r.done
	for _, c := range r.conns {
		c.Abort()
	}
	if r.host != nil {
		r.host.Close()
	}
}

// A 1-byte payload cannot carry a counter, so a message's PPID carries its
// sender's number in the top idBits and its sequence number (from 1) below.
const (
	idBits    = 12
	seqBits   = 32 - idBits
	maxAssocs = 1<<idBits - 1
	maxSeq    = 1<<seqBits - 1
)

func ppid(id int, seq int64) uint32 { return uint32(id)<<seqBits | uint32(seq) }

func fromPPID(p uint32) (id int, seq int64) { return int(p >> seqBits), int64(p & maxSeq) }

// sender floods one association with 1-byte messages numbered by ppid.
type sender struct {
	id   int
	c    *sctpsock.Conn
	sent atomic.Int64 // messages the kernel accepted
	over atomic.Bool  // flood returned
	err  error        // why flood returned, unless stopped; read after over
}

func dialSenders(ctx context.Context, to netip.AddrPort, n int) ([]*sender, error) {
	var ss []*sender
	for i := 1; i <= n; i++ {
		c, err := dial(ctx, to)
		if err != nil {
			for _, s := range ss {
				s.c.Abort()
			}
			return nil, fmt.Errorf("sender %d: dial %s: %w", i, to, err)
		}
		ss = append(ss, &sender{id: i, c: c})
	}
	return ss, nil
}

// dial opens a sender's association. Linux answers INIT with ABORT while the
// listener's accept queue is full (socat's backlog is 5 and it forks per
// association), so a refusal is retried for up to 20 s.
func dial(ctx context.Context, to netip.AddrPort) (*sctpsock.Conn, error) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		c, err := sctpsock.Dial(dctx, nil, []netip.AddrPort{to}, sctpsock.Options{NoDelay: true})
		cancel()
		if err == nil || !errors.Is(err, syscall.ECONNREFUSED) || !time.Now().Before(deadline) {
			return c, err
		}
		if !sleep(ctx, 200*time.Millisecond) {
			return nil, err
		}
	}
}

// flood writes messages until the cap, an error, or stop's deadline.
func (s *sender) flood(max int64) {
	defer s.over.Store(true)
	data := []byte{'x'}
	for seq := int64(1); seq <= max; seq++ {
		err := s.c.WriteMsg(sctpsock.Msg{Data: data, PPID: ppid(s.id, seq)})
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				s.err = fmt.Errorf("sender %d: message %d: %w", s.id, seq, err)
			}
			return
		}
		s.sent.Store(seq)
	}
}

// floodAll runs every sender until all are blocked (no progress for
// s.stall) or done, or a cap or the memory floor is hit; then it stops them
// and returns why it stopped.
func (b *bench) floodAll(ctx context.Context, ss []*sender, relay *child.Child) (string, error) {
	var wg sync.WaitGroup
	for _, s := range ss {
		wg.Add(1)
		go runSender(&wg, s, b.s.msgCap)
	}
	reason, err := b.watch(ctx, ss, relay)
	for _, s := range ss {
		s.c.SetWriteDeadline(time.Unix(1, 0))
	}
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(15 * time.Second):
		return reason, errors.New("senders did not stop within 15s of their write deadline")
	}
	return reason, err
}

func runSender(wg *sync.WaitGroup, s *sender, max int64) {
	defer wg.Done()
	s.flood(max)
}

// watch polls the senders' progress until the flood is over.
func (b *bench) watch(ctx context.Context, ss []*sender, relay *child.Child) (string, error) {
	start := time.Now()
	last := make([]int64, len(ss))
	moved := make([]time.Time, len(ss))
	for i := range moved {
		moved[i] = start
	}
	nextLog := start.Add(10 * time.Second)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return "interrupted", context.Cause(ctx)
		case <-tick.C:
		}
		now := time.Now()
		blocked, over := true, true
		var total int64
		for i, s := range ss {
			v := s.sent.Load()
			total += v
			if v != last[i] {
				last[i], moved[i] = v, now
			}
			if !s.over.Load() {
				over = false
				if now.Sub(moved[i]) < b.s.stall {
					blocked = false
				}
			}
		}
		if relay != nil {
			if err := relay.Check(); err != nil {
				return "relay exited", err
			}
		}
		avail, _ := memAvailable()
		if now.After(nextLog) {
			b.logf("  %s: %d messages accepted, MemAvailable %s", now.Sub(start).Round(time.Second), total, mb(avail))
			nextLog = now.Add(10 * time.Second)
		}
		switch {
		case over:
			return "message cap", nil
		case blocked:
			return "blocked", nil
		case now.Sub(start) >= b.s.timeCap:
			return fmt.Sprintf("time cap %v", b.s.timeCap), nil
		case avail < b.s.memFloor:
			return "memory floor", nil
		}
	}
}
