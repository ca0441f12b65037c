package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// clientOptions are the clients' sockets: SCTP_NODELAY, default buffers.
var clientOptions = sctpsock.Options{NoDelay: true}

// dial opens one association. Linux answers INIT with ABORT while the
// listener's accept queue is full (socat's backlog is 5 and it forks per
// association), so a refusal is retried for up to 20 s.
func dial(ctx context.Context, to netip.AddrPort) (*sctpsock.Conn, error) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		c, err := sctpsock.Dial(dctx, nil, []netip.AddrPort{to}, clientOptions)
		cancel()
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, syscall.ECONNREFUSED) || !time.Now().Before(deadline) {
			return nil, fmt.Errorf("dial %s: %w", to, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("dial %s: %w", to, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// senders are the clients of one throughput cell, one per association,
// each writing messages of one size as fast as its kernel takes them.
type senders struct {
	conns []*sctpsock.Conn
	wg    sync.WaitGroup
	mu    sync.Mutex
	err   error // the first failed write other than the stop
}

func dialSenders(ctx context.Context, to netip.AddrPort, n int) (*senders, error) {
	s := &senders{}
	for range n {
		c, err := dial(ctx, to)
		if err != nil {
			s.abort()
			return nil, err
		}
		s.conns = append(s.conns, c)
	}
	return s, nil
}

// start starts one sender per association, writing messages of size bytes.
func (s *senders) start(size int) {
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i)
	}
	for _, c := range s.conns {
		s.wg.Add(1)
		go s.send(c, data)
	}
}

// send writes until stop: message seq carries PPID seq.
func (s *senders) send(c *sctpsock.Conn, data []byte) {
	defer s.wg.Done()
	for seq := uint32(1); ; seq++ {
		if err := c.WriteMsg(sctpsock.Msg{Data: data, PPID: seq}); err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				s.mu.Lock()
				if s.err == nil {
					s.err = fmt.Errorf("client write: %w", err)
				}
				s.mu.Unlock()
			}
			return
		}
	}
}

// stop ends the senders (a write deadline in the past) and aborts their
// associations; it returns the first write that failed for another reason.
func (s *senders) stop() error {
	for _, c := range s.conns {
		c.SetWriteDeadline(time.Unix(1, 0))
	}
	s.wg.Wait()
	s.abort()
	return s.err
}

func (s *senders) abort() {
	for _, c := range s.conns {
		c.Abort()
	}
}

// pingPong sends a message of size bytes and waits for all of it to come
// back, one at a time, for d after warm-up rounds; it returns the round
// trips. Bytes, not messages, are counted back: socat may split an echo.
func pingPong(ctx context.Context, to netip.AddrPort, size int, d time.Duration) ([]time.Duration, error) {
	c, err := dial(ctx, to)
	if err != nil {
		return nil, err
	}
	defer c.Abort()
	data := make([]byte, size)
	buf := make([]byte, 64<<10)
	deadline := time.Now().Add(d + 30*time.Second)
	c.SetReadDeadline(deadline)
	c.SetWriteDeadline(deadline)
	const warmUp = 50
	var rtts []time.Duration
	end := time.Time{}
	for i := 0; end.IsZero() || time.Now().Before(end); i++ {
		if i == warmUp {
			end = time.Now().Add(d)
		}
		t0 := time.Now()
		if err := c.WriteMsg(sctpsock.Msg{Data: data, PPID: uint32(i)}); err != nil {
			return rtts, fmt.Errorf("ping %d: %w", i, err)
		}
		for got := 0; got < size; {
			m, err := c.ReadMsg(buf)
			if err != nil {
				return rtts, fmt.Errorf("pong %d: %w", i, err)
			}
			got += len(m.Data) // 0 for a notification
		}
		if i >= warmUp {
			rtts = append(rtts, time.Since(t0))
		}
		if ctx.Err() != nil {
			return rtts, ctx.Err()
		}
	}
	return rtts, nil
}
