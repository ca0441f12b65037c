package proxy

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/gate"
	"github.com/sctpguard/sctpguard/quota"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// writeLeg is a pipe's destination in these tests: it hands every message
// written to it to the test, and, if blocked, says its send buffer is full to
// TryWriteMsg and waits in WriteMsg until proceed is closed. It has no kernel:
// its queues answer errSharedSocket, so the pipe neither reads ahead nor sets
// buffers. The other methods are not called by the code under test.
type writeLeg struct {
	leg
	blocked bool
	written chan sctpsock.Msg
	proceed chan struct{}
}

func newWriteLeg(blocked bool) *writeLeg {
	return &writeLeg{blocked: blocked, written: make(chan sctpsock.Msg, 1), proceed: make(chan struct{})}
}

func (l *writeLeg) TryWriteMsg(m sctpsock.Msg) error {
	if l.blocked {
		return sctpsock.ErrWouldBlock
	}
	return l.WriteMsg(m)
}

func (l *writeLeg) WriteMsg(m sctpsock.Msg) error {
	l.written <- m
	if l.blocked {
		<-l.proceed
	}
	return nil
}

func (l *writeLeg) Status() (sctpsock.Status, error) { return sctpsock.Status{}, nil }
func (l *writeLeg) aborted() error                   { return nil }
func (l *writeLeg) recvQueued() (int, error)         { return 0, errSharedSocket }
func (l *writeLeg) recvBuffer() (int, error)         { return 0, errSharedSocket }

// openWindow is a consumer that has read everything.
type openWindow struct{}

func (openWindow) Sample() (gate.Sample, error) { return gate.Sample{PeerRwnd: 1 << 20}, nil }

// testPipe is a pipe from src to dst charged to an account of limit bytes.
func testPipe(t *testing.T, src, dst leg, limit int64) *pipe {
	t.Helper()
	acct, err := quota.NewBudget("test", 0, nil).Open(limit, -1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(acct.Close)
	return &pipe{dir: toFront, src: src, dst: dst, dstStreams: 10, acct: acct, cost: testCost,
		gate: gate.NewObserver().Open(acct, openWindow{}, 0, nil), relayed: &relayed{},
		stallTimeout: func() time.Duration { return 0 }}
}

// scratchMsg is a message of n bytes read into a borrowed scratch buffer.
func scratchMsg(n int) (sctpsock.Msg, *[]byte) {
	b := getScratch()
	data := (*b)[:n]
	for i := range data {
		data[i] = byte(i)
	}
	return sctpsock.Msg{Data: data, PPID: 3}, b
}

// TestWaitingMessageCharged: the copy a pipe holds of a message whose charge
// waits is charged to the association while it waits, beyond the quota, and the
// message is then charged its cost, no more, once that fits.
func TestWaitingMessageCharged(t *testing.T) {
	dst := newWriteLeg(false)
	p := testPipe(t, newWriteLeg(false), dst, 20_000)
	const size, before = 3000, 15_000
	cost := testCost.Chunked(size, p.gate.Frag())
	if ok, err := p.acct.TryCharge(before); !ok || err != nil {
		t.Fatal(ok, err)
	}
	m, b := scratchMsg(size)
	want := bytes.Clone(m.Data)
	errc := make(chan error, 1)
	go func() { errc <- p.relay(context.Background(), m, &b) }()
	eventually(t, "the waiting message's copy charged", 5*time.Second, func() bool {
		return p.acct.Used() == before+size
	})
	p.acct.Release(before)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if got := <-dst.written; !bytes.Equal(got.Data, want) {
		t.Fatal("the waiting message was written changed")
	}
	if used := p.acct.Used(); used != cost {
		t.Fatalf("%d bytes charged after the write, want the message's cost %d", used, cost)
	}
	if b != nil {
		t.Error("the pipe kept its read buffer while the message waited")
	}
}

// TestWaitingMessageUnchargedOnError: a wait that ends in an error leaves
// nothing of the message's copy charged.
func TestWaitingMessageUnchargedOnError(t *testing.T) {
	p := testPipe(t, newWriteLeg(false), newWriteLeg(false), 20_000)
	if ok, err := p.acct.TryCharge(15_000); !ok || err != nil {
		t.Fatal(ok, err)
	}
	m, b := scratchMsg(3000)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.relay(ctx, m, &b) }()
	eventually(t, "the waiting message's copy charged", 5*time.Second, func() bool { return p.acct.Used() > 15_000 })
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("relay cancelled while waiting returned nil")
	}
	if used := p.acct.Used(); used != 15_000 {
		t.Fatalf("%d bytes charged after a failed wait, want the 15000 charged before", used)
	}
}

// TestBlockedWriteDropsScratch: a pipe whose write waits for room in dst's send
// buffer gives its read buffer back first and writes a copy of the message.
func TestBlockedWriteDropsScratch(t *testing.T) {
	dst := newWriteLeg(true)
	p := testPipe(t, newWriteLeg(false), dst, 1<<20)
	m, b := scratchMsg(100)
	scratchAt := &(*b)[0]
	want := bytes.Clone(m.Data)
	errc := make(chan error, 1)
	go func() { errc <- p.relay(context.Background(), m, &b) }()
	got := <-dst.written // relay is now blocked in WriteMsg
	if b != nil {
		t.Error("the pipe holds its read buffer while blocked in a write")
	}
	if &got.Data[0] == scratchAt || !bytes.Equal(got.Data, want) {
		t.Error("the blocked write is not of a copy of the message")
	}
	close(dst.proceed)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
