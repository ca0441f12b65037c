package integration

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// A stream flow: numbered messages on several streams, message i on stream
// i%streams, each checked on arrival to come once and in order within its stream.
// Every message carries its number and its number within the stream.

// flow is one numbered flow from the front application through sctpguard to an
// echoing peer and back.
type flow struct {
	streams, size int
	start         time.Time
	sentAt        []time.Duration // by message number, since start
	sent          atomic.Int64
	interval      atomic.Int64 // time.Duration send waits before each message
	atPeer        *orderCheck  // what reached the upstream peer
	atFront       *orderCheck  // what came back to the application
}

func newFlow(streams, total, size int) *flow {
	start := time.Now()
	return &flow{streams: streams, size: max(size, 8), start: start, sentAt: make([]time.Duration, total),
		atPeer: newOrderCheck(streams, total, start), atFront: newOrderCheck(streams, total, start)}
}

// send writes messages [from, to) on c, one every f.interval (as fast as c takes
// them while it is zero). While it is set, the last 1,000 messages go out at most 20
// per second, so that a test that paces the flow until some event keeps messages
// flowing however long the event takes.
func (f *flow) send(c *sctpsock.Conn, from, to int) error {
	msg := make([]byte, f.size)
	var due time.Time
	for i := from; i < to; i++ {
		if d := time.Duration(f.interval.Load()); d > 0 {
			if to-i <= 1000 {
				d = max(d, 50*time.Millisecond)
			}
			now := time.Now()
			if due = due.Add(d); due.Before(now.Add(-d)) {
				due = now // catch up on a late wake-up, but not forever
			}
			if w := due.Sub(now); w > 0 {
				time.Sleep(w)
			}
		}
		binary.BigEndian.PutUint32(msg, uint32(i))
		binary.BigEndian.PutUint32(msg[4:], uint32(i/f.streams))
		f.sentAt[i] = time.Since(f.start)
		if err := c.WriteMsg(sctpsock.Msg{Data: msg, Stream: uint16(i % f.streams), PPID: ppidFlow}); err != nil {
			return fmt.Errorf("write message %d: %w", i, err)
		}
		f.sent.Add(1)
	}
	return nil
}

// readEchoes checks what comes back on c into atFront until the association ends,
// then reports how it ended: io.EOF after SHUTDOWN, whichever side began it (the
// side that sent SHUTDOWN learns of the end from SHUTDOWN_COMP, not from a read),
// an error matching sctpsock.ErrAborted after ABORT.
func (f *flow) readEchoes(c *sctpsock.Conn) <-chan error {
	ended := make(chan error, 1)
	go func() {
		buf := make([]byte, 64<<10)
		for {
			m, err := c.ReadMsg(buf)
			if err != nil {
				ended <- err
				return
			}
			buf = m.Data[:cap(m.Data)]
			if n := m.Notification; n != nil {
				if end := assocEnd(n); end != nil {
					ended <- end
					return
				}
				continue
			}
			f.atFront.record(m)
		}
	}()
	return ended
}

// assocEnd is how an association ended if n says it did: io.EOF for SHUTDOWN_COMP,
// ErrAborted for COMM_LOST. Linux reports an ABORT's error once, to the first read or
// write: a reader whose writer got it learns of the ABORT from COMM_LOST only.
func assocEnd(n *sctpsock.Notification) error {
	if n.AssocChange == nil {
		return nil
	}
	switch n.AssocChange.State {
	case sctpsock.ShutdownComplete:
		return io.EOF
	case sctpsock.CommLost:
		return fmt.Errorf("%v: %w", n, sctpsock.ErrAborted)
	}
	return nil
}

// firstDeliveryAfter is how long after at the first message sent after at reached
// the peer; -1 if none did.
func (f *flow) firstDeliveryAfter(at time.Duration) time.Duration {
	first := time.Duration(-1)
	for i, s := range f.sentAt {
		if s <= at {
			continue
		}
		if a := f.atPeer.arrival(i); a > 0 && (first < 0 || a < first) {
			first = a
		}
	}
	if first < 0 {
		return -1
	}
	return first - at
}

// orderCheck checks numbered messages as they arrive.
type orderCheck struct {
	streams int
	start   time.Time

	mu   sync.Mutex
	next []uint32        // next number due on each stream
	at   []time.Duration // arrival by message number, since start; 0 = not yet
	n    int
	bad  string // the first problem
}

func newOrderCheck(streams, total int, start time.Time) *orderCheck {
	return &orderCheck{streams: streams, start: start, next: make([]uint32, streams), at: make([]time.Duration, total)}
}

func (c *orderCheck) record(m sctpsock.Msg) {
	now := time.Since(c.start)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(m.Data) < 8 {
		c.fail("a message of %d bytes, too short to be numbered", len(m.Data))
		return
	}
	i, s := binary.BigEndian.Uint32(m.Data), binary.BigEndian.Uint32(m.Data[4:])
	switch {
	case int(i) >= len(c.at) || int(m.Stream) != int(i)%c.streams || int(s) != int(i)/c.streams || m.PPID != ppidFlow:
		c.fail("message %d arrived altered: stream %d, number in stream %d, ppid %d", i, m.Stream, s, m.PPID)
	case c.at[i] != 0:
		c.fail("message %d arrived twice", i)
	case s != c.next[m.Stream]:
		c.fail("stream %d: message %d of the stream arrived when %d was due", m.Stream, s, c.next[m.Stream])
	default:
		c.at[i] = now
		c.next[m.Stream]++
		c.n++
	}
}

func (c *orderCheck) fail(format string, args ...any) {
	if c.bad == "" {
		c.bad = fmt.Sprintf(format, args...)
	}
}

func (c *orderCheck) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (c *orderCheck) problem() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bad
}

func (c *orderCheck) arrival(i int) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at[i]
}

// longestGap is the longest time between two consecutive arrivals in [from, to).
func (c *orderCheck) longestGap(from, to time.Duration) time.Duration {
	c.mu.Lock()
	ts := make([]time.Duration, 0, c.n)
	for _, a := range c.at {
		if a > 0 {
			ts = append(ts, a)
		}
	}
	c.mu.Unlock()
	slices.Sort(ts)
	var gap time.Duration
	for i := 1; i < len(ts); i++ {
		if ts[i] > from && ts[i-1] < to {
			gap = max(gap, ts[i]-ts[i-1])
		}
	}
	return gap
}

// verify fails the test unless c has every one of total messages, once and in order.
func (c *orderCheck) verify(t *testing.T, where string, total int) {
	t.Helper()
	if p := c.problem(); p != "" {
		t.Errorf("%s: %s", where, p)
	}
	if n := c.count(); n != total {
		t.Errorf("%s: %d of %d messages arrived", where, n, total)
	}
}

// echoingPeer is an upstream peer that checks every data message into a flow's
// atPeer and sends it back unchanged; it keeps the path events it sees.
type echoingPeer struct {
	ln         *sctpsock.Listener
	f          *flow
	accepted   atomic.Int32
	ended      chan error // how each association ended
	abortAfter int        // if set before the first association, abort after this many messages

	mu     sync.Mutex
	events []string // "address STATE"
	conns  []*sctpsock.Conn
}

// startEchoingPeer listens on addrs; call it inside the peer's namespace.
func startEchoingPeer(t *testing.T, addrs []netip.AddrPort, o sctpsock.Options, f *flow) *echoingPeer {
	t.Helper()
	ln, err := sctpsock.Listen(addrs, o)
	if err != nil {
		t.Fatalf("peer listen: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	p := &echoingPeer{ln: ln, f: f, ended: make(chan error, 8)}
	go p.acceptLoop()
	return p
}

func (p *echoingPeer) acceptLoop() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		p.mu.Lock()
		p.conns = append(p.conns, c)
		p.mu.Unlock()
		go p.serve(c)
	}
}

func (p *echoingPeer) serve(c *sctpsock.Conn) {
	defer c.Close()
	buf := make([]byte, 64<<10)
	for n := 0; ; {
		m, err := c.ReadMsg(buf)
		if err != nil {
			p.ended <- err
			return
		}
		buf = m.Data[:cap(m.Data)]
		if n := m.Notification; n != nil {
			if pc := n.PeerAddrChange; pc != nil {
				p.mu.Lock()
				p.events = append(p.events, pc.Addr.String()+" "+pc.State.String())
				p.mu.Unlock()
			}
			continue
		}
		if p.f != nil {
			p.f.atPeer.record(m)
		}
		if n++; n == p.abortAfter {
			c.Abort()
			p.ended <- errors.New("aborted by the test")
			return
		}
		if err := c.WriteMsg(m); err != nil {
			p.ended <- err
			return
		}
	}
}

// sawEvent reports whether the peer saw a path event for an address starting with
// prefix and in state.
func (p *echoingPeer) sawEvent(prefix, state string) bool { return p.eventCount(prefix, state) > 0 }

// eventCount is how many path events for addresses starting with prefix reported state.
func (p *echoingPeer) eventCount(prefix, state string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, e := range p.events {
		if strings.HasPrefix(e, prefix) && strings.HasSuffix(e, " "+state) {
			n++
		}
	}
	return n
}

func (p *echoingPeer) eventList() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.events)
}

// multiHomedConfig is a config with one relay "test" listening on loopback toward
// an upstream peer with several addresses; extra goes inside the relay block.
func multiHomedConfig(upstream []netip.AddrPort, extra string) string {
	q := make([]string, len(upstream))
	for i, a := range upstream {
		q[i] = fmt.Sprintf("%q", a.String())
	}
	return fmt.Sprintf(`
relay "test" {
  listen   = ["127.0.0.1:0"]
  upstream = [%s]
  %s
}
log {
  level  = "debug"
  format = "json"
}
admin {
  socket = "%%ADMIN%%"
}
`, strings.Join(q, ", "), extra)
}

// countLogKV counts the log entries whose message is msg and whose fields match kv
// (see findLog).
func (g *guard) countLogKV(msg string, kv ...string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, e := range g.logs {
		if e["@message"] == msg && matches(e, kv) {
			n++
		}
	}
	return n
}

// waitLogN waits until at least n entries match msg and kv, and returns how long
// that took.
func (g *guard) waitLogN(t *testing.T, n int, timeout time.Duration, msg string, kv ...string) time.Duration {
	t.Helper()
	return eventually(t, fmt.Sprintf("log line %q %v (%d)", msg, kv, n), timeout, func() bool { return g.countLogKV(msg, kv...) >= n })
}

// statusTable is what `sctpguard status` prints.
func (g *guard) statusTable(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(os.Getenv(binEnv), "status", "-s", filepath.Join(g.dir, "admin.sock")).CombinedOutput()
	if err != nil {
		t.Fatalf("sctpguard status: %v\n%s", err, out)
	}
	return string(out)
}
