package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// serverOptions are the servers' sockets: SCTP_NODELAY, the largest
// message at its default, and SO_RCVBUF rcvbuf (0: the kernel's default).
func serverOptions(rcvbuf int) sctpsock.Options {
	return sctpsock.Options{NoDelay: true, RecvBuffer: rcvbuf}
}

// tally is what a sink read during one cell, over all its associations.
type tally struct {
	size     int  // the cell's message size
	messages bool // the path keeps message boundaries: check every message

	msgs, bytes atomic.Int64
	stopping    atomic.Bool // the cell is ending: its associations are aborted
	readers     sync.WaitGroup
	mu          sync.Mutex
	conns       []*sctpsock.Conn
	err         error // the first broken message, or a read error
}

func (t *tally) fail(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err == nil {
		t.err = err
	}
}

// failure is the first broken message or read error, once the readers are done.
func (t *tally) failure() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

func (t *tally) accepted() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns)
}

// sink accepts associations and reads everything they carry, counting it
// into the tally of the cell under way.
type sink struct {
	l    *sctpsock.Listener
	cur  atomic.Pointer[tally]
	done chan struct{} // closed when acceptSink ends
}

// listenFunc opens a server's listener, with the given SO_RCVBUF, where the
// run puts its consumers (see consumers).
type listenFunc func(rcvbuf int) (*sctpsock.Listener, error)

func startSink(listen listenFunc, rcvbuf int) (*sink, error) {
	l, err := listen(rcvbuf)
	if err != nil {
		return nil, fmt.Errorf("sink: %w", err)
	}
	s := &sink{l: l, done: make(chan struct{})}
	go s.acceptSink()
	return s, nil
}

func (s *sink) addr() netip.AddrPort { return s.l.Addrs()[0] }

// begin makes t the tally that associations accepted from now on count into.
func (s *sink) begin(t *tally) { s.cur.Store(t) }

func (s *sink) acceptSink() {
	defer close(s.done)
	for {
		c, err := s.l.Accept()
		if err != nil {
			return
		}
		t := s.cur.Load()
		if t == nil {
			c.Abort()
			continue
		}
		t.mu.Lock()
		t.conns = append(t.conns, c)
		t.mu.Unlock()
		t.readers.Add(1)
		go readSink(t, c)
	}
}

// readSink reads one association until it ends. On a path that keeps
// boundaries, every message must have the cell's size and carry the next
// sequence number in its PPID.
func readSink(t *tally, c *sctpsock.Conn) {
	defer t.readers.Done()
	buf := make([]byte, sctpsock.DefaultMaxMessage)
	next := uint32(1)
	for {
		m, err := c.ReadMsg(buf)
		if err != nil {
			// An abort mid-message (a partial delivery cut short) is
			// how a cell ends, not a fault.
			if !endOfAssoc(err) && !t.stopping.Load() {
				t.fail(fmt.Errorf("server read: %w", err))
			}
			return
		}
		if m.Notification != nil {
			continue
		}
		t.msgs.Add(1)
		t.bytes.Add(int64(len(m.Data)))
		if !t.messages {
			continue
		}
		if len(m.Data) != t.size || m.PPID != next {
			t.fail(fmt.Errorf("message %d arrived with %d bytes and PPID %d, want %d bytes and PPID %d: split, merged, lost or reordered",
				next, len(m.Data), m.PPID, t.size, next))
			return
		}
		next++
	}
}

// endOfAssoc reports whether a read error is the association ending, as the
// teardown of a cell ends it.
func endOfAssoc(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, sctpsock.ErrAborted) || errors.Is(err, net.ErrClosed)
}

// finish waits up to wait for the cell's associations to end from the
// client's side, then aborts those left.
func (t *tally) finish(wait time.Duration) {
	done := make(chan struct{})
	go func() { t.readers.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(wait):
	}
	t.mu.Lock()
	for _, c := range t.conns {
		c.Abort()
	}
	t.mu.Unlock()
	<-done
}

func (s *sink) close() {
	s.l.Close()
	<-s.done
}

// echo accepts associations and sends every message back as it came.
type echo struct {
	l    *sctpsock.Listener
	done chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	open map[*sctpsock.Conn]bool
}

func startEcho(listen listenFunc) (*echo, error) {
	l, err := listen(0)
	if err != nil {
		return nil, fmt.Errorf("echo server: %w", err)
	}
	e := &echo{l: l, done: make(chan struct{}), open: map[*sctpsock.Conn]bool{}}
	go e.acceptEcho()
	return e, nil
}

func (e *echo) addr() netip.AddrPort { return e.l.Addrs()[0] }

func (e *echo) acceptEcho() {
	defer close(e.done)
	for {
		c, err := e.l.Accept()
		if err != nil {
			return
		}
		e.mu.Lock()
		e.open[c] = true
		e.mu.Unlock()
		e.wg.Add(1)
		go e.serveEcho(c)
	}
}

func (e *echo) serveEcho(c *sctpsock.Conn) {
	defer e.wg.Done()
	defer func() {
		e.mu.Lock()
		delete(e.open, c)
		e.mu.Unlock()
		c.Close()
	}()
	buf := make([]byte, 64<<10)
	for {
		m, err := c.ReadMsg(buf)
		if err != nil {
			return
		}
		if m.Notification != nil {
			continue
		}
		if err := c.WriteMsg(m); err != nil {
			return
		}
	}
}

func (e *echo) close() {
	e.l.Close()
	<-e.done
	e.mu.Lock()
	for c := range e.open {
		c.Abort()
	}
	e.mu.Unlock()
	e.wg.Wait()
}
