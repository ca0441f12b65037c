package proxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sctpguard/sctpguard/admin"
	"github.com/sctpguard/sctpguard/quota"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// fakeSeqpacket is a shared socket fed by the test: ReadMsg returns what feed sends, in
// order; aborts and shutdowns are recorded.
type fakeSeqpacket struct {
	feed   chan sctpsock.Msg
	closed chan struct{}
	once   sync.Once
	read   chan int32 // the id of every message handed out, once it was

	mu      sync.Mutex
	aborted []int32
}

func newFakeSeqpacket() *fakeSeqpacket {
	return &fakeSeqpacket{feed: make(chan sctpsock.Msg, 1024), closed: make(chan struct{}), read: make(chan int32, 1024)}
}

func (f *fakeSeqpacket) ReadPiece(buf []byte) (sctpsock.Msg, error) {
	select {
	case m := <-f.feed:
		f.read <- m.AssocID
		if m.AssocID == badRead {
			return sctpsock.Msg{}, errors.New("read: notification: malformed")
		}
		if m.Data != nil {
			m.Data = buf[:copy(buf, m.Data)]
		}
		return m, nil
	case <-f.closed:
		return sctpsock.Msg{}, net.ErrClosed
	}
}

func (f *fakeSeqpacket) WriteMsg(int32, sctpsock.Msg) error    { return nil }
func (f *fakeSeqpacket) TryWriteMsg(int32, sctpsock.Msg) error { return nil }
func (f *fakeSeqpacket) Shutdown(int32) error                  { return nil }
func (f *fakeSeqpacket) Abort(id int32) error {
	f.mu.Lock()
	f.aborted = append(f.aborted, id)
	f.mu.Unlock()
	return nil
}
func (f *fakeSeqpacket) Status(int32) (sctpsock.Status, error)     { return sctpsock.Status{}, nil }
func (f *fakeSeqpacket) Paths(int32) ([]sctpsock.PathInfo, error)  { return nil, nil }
func (f *fakeSeqpacket) PeerAddrs(int32) ([]netip.AddrPort, error) { return nil, nil }
func (f *fakeSeqpacket) AssocLocalAddrs(int32) ([]netip.AddrPort, error) {
	return nil, nil
}
func (f *fakeSeqpacket) SetPathOptions(int32, sctpsock.PathOptions) error { return nil }
func (f *fakeSeqpacket) Queued() (int, int, error)                        { return 0, 0, nil }
func (f *fakeSeqpacket) LocalAddrs() []netip.AddrPort                     { return nil }
func (f *fakeSeqpacket) StopListening() error                             { return nil }
func (f *fakeSeqpacket) Close() error {
	f.once.Do(func() { close(f.closed) })
	return nil
}

// badRead as the AssocID of a fed message makes ReadMsg fail with an error.
const badRead = -1

func commUp(id int32) sctpsock.Msg {
	n := &sctpsock.Notification{Type: sctpsock.NotifyAssocChange, AssocID: id,
		AssocChange: &sctpsock.AssocChange{State: sctpsock.CommUp}}
	return sctpsock.Msg{Notification: n, AssocID: id}
}

func commLost(id int32) sctpsock.Msg {
	n := &sctpsock.Notification{Type: sctpsock.NotifyAssocChange, AssocID: id,
		AssocChange: &sctpsock.AssocChange{State: sctpsock.CommLost}}
	return sctpsock.Msg{Notification: n, AssocID: id}
}

func data(id int32, size int, ppid uint32) sctpsock.Msg {
	return sctpsock.Msg{AssocID: id, Data: make([]byte, size), PPID: ppid, Stream: uint16(ppid % 7)}
}

// testCost is the cost model of these tests; c9k is what a 9,000-byte message costs.
var (
	testCost = quota.CostModel{Overhead: 1000}
	c9k      = testCost.Cost(9000)
)

// startShared runs a shared socket over a fake with the given quotas (bytes).
func startShared(t *testing.T, assocQuota, socketQuota int64) (*sharedSocket, *fakeSeqpacket, *quota.Budget) {
	t.Helper()
	f := newFakeSeqpacket()
	budget := quota.NewBudget("test", socketQuota, nil)
	budget.SetHeadroom(0)
	s, err := newSharedSocket(f, budget, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	s.cost = func() quota.CostModel { return testCost }
	s.assoc = func() int64 { return assocQuota }
	s.start()
	t.Cleanup(func() { s.close() })
	return s, f, budget
}

func acceptLeg(t *testing.T, s *sharedSocket, f *fakeSeqpacket, id int32) *sharedLeg {
	t.Helper()
	f.feed <- commUp(id)
	a, err := s.accept()
	l, ok := a.(*sharedLeg)
	if err != nil || !ok || l.id != id {
		t.Fatalf("accept: %v, %v", a, err)
	}
	return l
}

// takeData returns the next data message of l, skipping notifications.
func takeData(t *testing.T, l *sharedLeg) sctpsock.Msg {
	t.Helper()
	buf := make([]byte, 64<<10)
	var m sctpsock.Msg
	eventually(t, fmt.Sprintf("a message on leg %d", l.id), 5*time.Second, func() bool {
		var err error
		m, err = l.TryReadMsg(buf)
		if err != nil && !errors.Is(err, sctpsock.ErrWouldBlock) {
			t.Fatalf("leg %d: %v", l.id, err)
		}
		return err == nil && m.Notification == nil
	})
	return m
}

// takeAny returns the next message or event of l.
func takeAny(t *testing.T, l *sharedLeg) sctpsock.Msg {
	t.Helper()
	var m sctpsock.Msg
	var err error
	eventually(t, fmt.Sprintf("a message or event on leg %d", l.id), 5*time.Second, func() bool {
		m, err = l.TryReadMsg(nil)
		return !errors.Is(err, sctpsock.ErrWouldBlock)
	})
	if err != nil {
		t.Fatalf("leg %d: %v", l.id, err)
	}
	return m
}

// waitRead waits until the fake has handed out n messages in all.
func waitRead(t *testing.T, f *fakeSeqpacket, n int) {
	t.Helper()
	for range n {
		select {
		case <-f.read:
		case <-time.After(5 * time.Second):
			t.Fatalf("the reader stopped before %d messages", n)
		}
	}
}

// TestSharedDemux: messages reach the leg of their association, in order, with
// stream and PPID; a message for an association that is not relayed is dropped and
// counted.
func TestSharedDemux(t *testing.T) {
	s, f, _ := startShared(t, 1<<20, 8<<20)
	a, b := acceptLeg(t, s, f, 3), acceptLeg(t, s, f, 5)
	for i := range 20 {
		f.feed <- data(3+2*int32(i%2), 10+i, uint32(i))
	}
	f.feed <- data(9, 10, 99)
	for i := range 20 {
		l := a
		if i%2 == 1 {
			l = b
		}
		m := takeData(t, l)
		if len(m.Data) != 10+i || m.PPID != uint32(i) || m.Stream != uint16(i%7) {
			t.Fatalf("message %d: %d B ppid %d stream %d", i, len(m.Data), m.PPID, m.Stream)
		}
	}
	waitRead(t, f, 2+20+1)
	eventually(t, "the message of no association dropped", time.Second, func() bool {
		return s.dropped.count(admin.DropNoAssociation) == 1
	})
	if d := s.status().DroppedBy; d[admin.DropNoAssociation] != 1 || len(d) != 1 || s.queuedCost() != 0 {
		t.Fatalf("dropped %v, queued %d; want no_association 1 and 0", d, s.queuedCost())
	}
}

// TestSharedAssociationBound: an association whose pipe takes nothing gets at most
// quota.association queued; its next message stops the reader, and the messages of
// another association behind it wait (head of line) until the first one's pipe
// takes one.
func TestSharedAssociationBound(t *testing.T) {
	s, f, _ := startShared(t, 3*c9k, 1<<20)
	slow, other := acceptLeg(t, s, f, 1), acceptLeg(t, s, f, 2)
	waitRead(t, f, 2)
	for i := range 4 {
		f.feed <- data(1, 9000, uint32(i)) // three fit
	}
	f.feed <- data(2, 100, 7)
	waitRead(t, f, 4)
	// Once the reader stalls it waits for room for the fourth message, and
	// reads nothing more until a message is taken.
	eventually(t, "the reader to stall", 5*time.Second, func() bool { return s.stalls.Load() == 1 })
	if q := slow.queuedCost(); q != 3*c9k {
		t.Fatalf("slow leg holds %d, want %d (its quota)", q, 3*c9k)
	}
	if len(f.read) != 0 || other.queuedCost() != 0 {
		t.Fatalf("the reader went on past the message that does not fit")
	}
	if s.stalls.Load() != 1 {
		t.Fatalf("stalls %d, want 1", s.stalls.Load())
	}
	takeData(t, slow)
	if m := takeData(t, other); m.PPID != 7 {
		t.Fatalf("other leg got ppid %d", m.PPID)
	}
	for i := 1; i < 4; i++ {
		if m := takeData(t, slow); m.PPID != uint32(i) {
			t.Fatalf("slow leg: message %d came as %d", i, m.PPID)
		}
	}
	if q := s.queuedCost(); q != 0 {
		t.Fatalf("queued %d after everything was taken", q)
	}
}

// TestSharedSocketBound: the legs' queues are charged to the relay's budget: with a
// budget of five messages and associations of three, the second association's third
// message stops the reader, and the budget in use never exceeds its limit.
func TestSharedSocketBound(t *testing.T) {
	s, f, budget := startShared(t, 3*c9k, 5*c9k)
	a, b := acceptLeg(t, s, f, 1), acceptLeg(t, s, f, 2)
	waitRead(t, f, 2)
	for i := range 3 {
		f.feed <- data(1, 9000, uint32(i))
		f.feed <- data(2, 9000, uint32(i))
	}
	waitRead(t, f, 6)
	eventually(t, "the reader to stall on the sixth message", 5*time.Second, func() bool { return s.stalls.Load() == 1 })
	if used, q := budget.Used(), s.queuedCost(); used != 5*c9k || q != 5*c9k {
		t.Fatalf("budget used %d, queued %d; want both %d", used, q, 5*c9k)
	}
	if a.queuedCost() != 3*c9k || b.queuedCost() != 2*c9k {
		t.Fatalf("queues %d and %d, want %d and %d", a.queuedCost(), b.queuedCost(), 3*c9k, 2*c9k)
	}
	takeData(t, a)
	takeData(t, b)
	takeData(t, b)
	if m := takeData(t, b); m.PPID != 2 {
		t.Fatalf("third message of b came as %d", m.PPID)
	}
	if used := budget.Used(); used != 2*c9k {
		t.Fatalf("budget used %d, want %d (a's two left)", used, 2*c9k)
	}
}

// TestSharedEndWhileFull: the end of an association is queued and known even when
// its queue is full, and closing the leg gives its queue back to the budget.
func TestSharedEndWhileFull(t *testing.T) {
	s, f, budget := startShared(t, c9k, 1<<20)
	l := acceptLeg(t, s, f, 4)
	f.feed <- data(4, 9000, 0)
	f.feed <- commLost(4)
	waitRead(t, f, 3)
	eventually(t, "the leg to know of the COMM_LOST", time.Second, func() bool { return l.aborted() != nil })
	if err := l.aborted(); !errors.Is(err, sctpsock.ErrAborted) {
		t.Fatalf("aborted %v, want ErrAborted", err)
	}
	l.Abort()
	if charged := budget.Charged(); charged != 0 {
		t.Fatalf("budget charged %d after the leg closed", charged)
	}
	if d := s.status().DroppedBy; d[admin.DropAssociationClosed] != 1 || len(d) != 1 {
		t.Fatalf("dropped %v; want association_closed 1 (the message its queue held)", d)
	}
	f.mu.Lock()
	n := len(f.aborted)
	f.mu.Unlock()
	if n != 0 {
		t.Fatal("ABORT sent for an association the kernel had ended")
	}
	if _, err := l.TryReadMsg(nil); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after Abort: %v", err)
	}
}

// TestSharedShutdownComplete: a graceful end is not an abort, and reads after the
// last message return it in order.
func TestSharedShutdownComplete(t *testing.T) {
	s, f, _ := startShared(t, 1<<20, 8<<20)
	l := acceptLeg(t, s, f, 6)
	f.feed <- data(6, 5, 1)
	n := &sctpsock.Notification{Type: sctpsock.NotifyAssocChange, AssocID: 6,
		AssocChange: &sctpsock.AssocChange{State: sctpsock.ShutdownComplete}}
	f.feed <- sctpsock.Msg{Notification: n, AssocID: 6}
	takeData(t, l)
	m := takeAny(t, l)
	if m.Notification == nil || m.Notification.AssocChange.State != sctpsock.ShutdownComplete {
		t.Fatalf("after the data: %+v", m)
	}
	if l.aborted() != nil {
		t.Fatal("a graceful end counted as abort")
	}
	a := association{log: hclog.NewNullLogger()}
	if err := a.notify("front", m.Notification); !errors.Is(err, io.EOF) {
		t.Fatalf("the pipe would end with %v, want io.EOF", err)
	}
}

// TestSharedStopListening: an association that comes up after the relay stopped
// listening is aborted, and accept returns net.ErrClosed.
func TestSharedStopListening(t *testing.T) {
	s, f, _ := startShared(t, 1<<20, 8<<20)
	acceptLeg(t, s, f, 1)
	if err := s.stopListening(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("accept after stopListening: %v", err)
	}
	f.feed <- commUp(2)
	waitRead(t, f, 2)
	eventually(t, "the late association aborted", time.Second, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.aborted) == 1 && f.aborted[0] == 2
	})
}

// TestSharedReadError: a read that fails (a malformed notification) is dropped and
// counted, and the next message is delivered; reads that keep failing end every
// association and stop accepting.
func TestSharedReadError(t *testing.T) {
	s, f, _ := startShared(t, 1<<20, 8<<20)
	l := acceptLeg(t, s, f, 1)
	f.feed <- sctpsock.Msg{AssocID: badRead}
	f.feed <- data(1, 10, 5)
	if m := takeData(t, l); m.PPID != 5 {
		t.Fatalf("after a failed read: ppid %d", m.PPID)
	}
	for range maxReadFailures + 1 {
		f.feed <- sctpsock.Msg{AssocID: badRead}
	}
	buf := make([]byte, 100)
	eventually(t, "the leg to end", 5*time.Second, func() bool {
		_, err := l.TryReadMsg(buf)
		if err != nil && !errors.Is(err, sctpsock.ErrWouldBlock) {
			t.Logf("leg ended with: %v", err)
			return true
		}
		return false
	})
	if _, err := s.accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("accept after the reader gave up: %v", err)
	}
	if n := s.status().DroppedBy[admin.DropReadError]; n != maxReadFailures+1 {
		t.Fatalf("dropped %d failed reads, want %d (the ones before the reader gave up)", n, maxReadFailures+1)
	}
}

// TestSharedLegQueueCompacts: a leg's queue takes memory for what it holds, not for
// what went through it. A million messages, with one always queued, leave a small
// array; the slots taken hold no payload; a burst's array shrinks as it drains.
func TestSharedLegQueueCompacts(t *testing.T) {
	s, _, _ := startShared(t, 0, 0)
	l := newSharedLeg(s, 1) // not on the socket: only this test touches it
	m, buf := data(1, 100, 0), make([]byte, 100)
	take := func(i int) {
		t.Helper()
		if _, err := l.TryReadMsg(buf); err != nil {
			t.Fatalf("take %d: %v", i, err)
		}
	}
	l.push(m, 0)
	most := 0
	for i := range 1_000_000 {
		l.push(m, 0)
		take(i)
		most = max(most, cap(l.q))
	}
	if live := len(l.q) - l.head; live != 1 || most > queueKeep {
		t.Fatalf("%d queued; the array grew to %d slots, want at most %d", live, most, queueKeep)
	}
	checkTakenFreed(t, l)

	const burst = 10_000
	for range burst {
		l.push(m, 0)
	}
	peak := cap(l.q)
	for i := range burst {
		take(i)
		if live := len(l.q) - l.head; cap(l.q) > max(8*live, queueKeep) {
			t.Fatalf("%d queued in an array of %d slots (the burst's was %d)", live, cap(l.q), peak)
		}
	}
	checkTakenFreed(t, l)
	take(burst)
	if len(l.q) != 0 || cap(l.q) > queueKeep {
		t.Fatalf("the emptied queue has %d slots in an array of %d", len(l.q), cap(l.q))
	}
}

// checkTakenFreed fails if a slot of l's array outside the queued ones still holds a
// payload, which the garbage collector could not free.
func checkTakenFreed(t *testing.T, l *sharedLeg) {
	t.Helper()
	for i, e := range l.q[:cap(l.q)] {
		if (i < l.head || i >= len(l.q)) && e.m.Data != nil {
			t.Fatalf("slot %d, outside the queued %d to %d, holds a payload", i, l.head, len(l.q))
		}
	}
}

// TestSharedReserve: the shared socket's account has a reserve of its own, so while
// another relay's flood has borrowed all the global budget lends, the one-to-many
// relay still queues messages within it and every association goes on.
func TestSharedReserve(t *testing.T) {
	global := quota.NewBudget("global", 4<<20, nil)
	flood, err := quota.NewBudget("other", 0, global).Open(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer flood.Close()
	if ok, err := flood.TryCharge(global.Limit() - global.Headroom() - global.Used() + flood.Reserved()); !ok || err != nil {
		t.Fatalf("the flood could not borrow up to the headroom: %v, %v", ok, err)
	}
	if ok, _ := flood.TryCharge(1); ok {
		t.Fatal("the flood borrowed into the global headroom")
	}

	f := newFakeSeqpacket()
	s, err := newSharedSocket(f, quota.NewBudget("one-to-many", 1<<20, global), hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	s.cost = func() quota.CostModel { return testCost }
	s.assoc = func() int64 { return 1 << 20 }
	s.start()
	defer s.close()
	if ok, _ := flood.TryCharge(1); ok {
		t.Fatal("the flood borrowed the shared socket's reserve")
	}
	a, b := acceptLeg(t, s, f, 1), acceptLeg(t, s, f, 2)
	n := quota.DefaultReserve / c9k // the reserve on this budget; 3 messages
	for i := range n {
		f.feed <- data(1+int32(i%2), 9000, uint32(i))
	}
	eventually(t, "the reserve's messages queued", 5*time.Second, func() bool { return s.queuedCost() == n*c9k })
	if q := s.queuedCost(); q != n*c9k {
		t.Fatalf("queued %d with the global budget lent out, want %d (%d messages in the reserve of %d)", q, n*c9k, n, s.acct.Reserved())
	}
	for i := range n {
		l := a
		if i%2 == 1 {
			l = b
		}
		if m := takeData(t, l); m.PPID != uint32(i) {
			t.Fatalf("message %d came as %d", i, m.PPID)
		}
	}
}

// TestSharedReserveExhausted: a shared socket whose reserve the global budget
// cannot give is refused at listen time, and the error says so.
func TestSharedReserveExhausted(t *testing.T) {
	global := quota.NewBudget("global", 1<<20, nil)
	hog, err := quota.NewBudget("other", 0, global).Open(0, global.Limit())
	if err != nil {
		t.Fatal(err)
	}
	defer hog.Close()
	_, err = newSharedSocket(newFakeSeqpacket(), quota.NewBudget("one-to-many", 1<<20, global), hclog.NewNullLogger())
	if !errors.Is(err, quota.ErrExhausted) || !strings.Contains(err.Error(), "shared socket") {
		t.Fatalf("newSharedSocket with the global budget all reserved: %v; want a shared socket error wrapping ErrExhausted", err)
	}
	t.Log(err)
}
