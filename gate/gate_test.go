package gate

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/quota"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// consumer is a stand-in for the kernel's view of one consumer: a Linux receiver
// whose window shrinks by the payload it holds unread, and a send queue.
type consumer struct {
	window     uint32 // offered with nothing unread
	unread     int64  // payload the consumer holds (unread or unacknowledged)
	sendQueued int64
	err        error
}

func (c *consumer) Sample() (Sample, error) {
	if c.err != nil {
		return Sample{}, c.err
	}
	return Sample{PeerRwnd: c.window - uint32(min(c.unread, int64(c.window))), SendQueued: c.sendQueued}, nil
}

// clock is a test's time.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

type fixture struct {
	obs  *Observer
	clk  *clock
	acct *quota.Account
	src  *consumer
	g    *Gate
}

func newFixture(t *testing.T, limit int64, receiver *sctpsock.PortPair) *fixture {
	t.Helper()
	clk := &clock{t: time.Unix(1e9, 0)}
	obs := NewObserver()
	obs.now = clk.now
	acct, err := quota.NewBudget("global", 0, nil).Open(limit, -1)
	if err != nil {
		t.Fatal(err)
	}
	src := &consumer{window: 100_000}
	return &fixture{obs: obs, clk: clk, acct: acct, src: src, g: obs.Open(acct, src, 1000, receiver)}
}

// send charges and sends n messages of payload bytes at cost each; the consumer
// holds them unread.
func (f *fixture) send(t *testing.T, n, payload int, cost int64) {
	t.Helper()
	for range n {
		if ok, err := f.acct.TryCharge(cost); !ok || err != nil {
			t.Fatalf("charge %d: ok=%v err=%v (used %d of %d)", cost, ok, err, f.acct.Used(), f.acct.Limit())
		}
		f.g.Sent(cost, payload)
		f.src.unread += int64(payload)
	}
}

// observeAll runs one observer round with every scheduled gate due.
func (f *fixture) observeAll() {
	f.clk.advance(idleMax)
	f.obs.round()
}

// The window tells how much payload the consumer holds: the newest messages that
// carry it stay charged, the others are released.
func TestReleaseByWindow(t *testing.T) {
	f := newFixture(t, 1<<20, nil)
	f.send(t, 10, 10, 1000)
	f.src.unread = 30 // the consumer read 7 of the 10
	f.observeAll()
	if got := f.acct.Used(); got != 3*1000 {
		t.Errorf("held %d, want the 3 newest messages (3000)", got)
	}
	st := f.g.Status()
	if st.Source != SourceWindow || st.Unread != 30 || st.Held != 3 {
		t.Errorf("status = %+v, want source window, unread 30, 3 held", st)
	}
	f.src.unread = 0
	f.observeAll()
	if got := f.acct.Used(); got != 0 {
		t.Errorf("held %d after the consumer read everything, want 0", got)
	}
}

// What this host's kernel still holds (unsent or unacknowledged) stays charged
// even when the window says nothing is unread: SendQueued counts it.
func TestReleaseBySendQueue(t *testing.T) {
	f := newFixture(t, 1<<20, nil)
	f.send(t, 10, 100, 1000)
	f.src.unread = 0
	f.src.sendQueued = 2 * (100 + 800) // two messages still queued, as Linux counts them
	f.observeAll()
	// The lower bound of what Linux counts per chunk (payload + 576) makes the 2
	// messages look like 1,800 / 676 = 2.66, so 3 are kept: too long, never
	// released early.
	if got := f.acct.Used(); got != 3000 {
		t.Errorf("held %d, want the charges of 3 messages", got)
	}
}

// More chunks outstanding than a 16-bit count holds (SCTP_STATUS's
// sstat_unackdata wraps at 65,535) stay charged: the gate counts the send
// queue in bytes, which does not wrap.
func TestSendQueueBeyondSixteenBits(t *testing.T) {
	const n = 70_000
	f := newFixture(t, n*10, nil)
	f.send(t, n, 1, 10)
	f.src.unread = 0
	f.src.sendQueued = n * (1 + 800) // every message still in this host's send queue
	f.observeAll()
	if got := f.acct.Used(); got != n*10 {
		t.Errorf("held %d, want the charges of all %d messages (%d)", got, n, n*10)
	}
}

// A consumer on this host is read from its own receive queue, not the window:
// what it read is released even though its window was never updated.
func TestReleaseByReceiverQueue(t *testing.T) {
	rx := sctpsock.PortPair{Local: 5000, Remote: 6000}
	f := newFixture(t, 1<<20, &rx)
	f.send(t, 10, 1, 1000)
	queue := int64(3 * (1 + 232)) // Linux 6.1 counts 1 + 232 bytes per queued 1-byte message
	f.obs.ReceiveQueues = func() (map[sctpsock.PortPair]int64, error) {
		return map[sctpsock.PortPair]int64{rx: queue}, nil
	}
	f.observeAll()
	st := f.g.Status()
	if st.Source != SourceQueue || st.Held != 4 {
		// The lower bound for an sk_buff makes 3 look like a little more: 4 kept.
		t.Errorf("status = %+v, want source queue and 4 held", st)
	}
	if _, _, reads := f.obs.Counts(); reads != 1 {
		t.Errorf("table read %d times, want 1", reads)
	}
}

// Messages sent after a reading began are not in it and stay charged.
func TestSentDuringReadingKept(t *testing.T) {
	f := newFixture(t, 1<<20, nil)
	f.send(t, 5, 10, 1000)
	mark := f.g.mark()
	s, _ := f.src.Sample()
	f.send(t, 2, 10, 1000) // written between the mark and the sample
	f.src.unread = 0
	f.g.apply(mark, s, 0, false)
	if got := f.acct.Used(); got != 7*1000 {
		t.Errorf("held %d, want all 7: the reading showed 5 unread, then 2 were sent", got)
	}
}

// A closed window (0) may hide one chunk beyond it: one more message is kept.
func TestZeroWindowKeepsOneMore(t *testing.T) {
	f := newFixture(t, 1<<20, nil)
	f.send(t, 5, 40_000, 1000)
	f.src.unread = int64(f.src.window) // all 100,000 of the window, and more
	f.observeAll()
	if got := f.g.Status().Held; got != 4 {
		// 100,000 bytes of 40,000-byte messages are the 3 newest; one more for
		// what the closed window may hide.
		t.Errorf("held %d messages, want 4", got)
	}
}

// A gate whose association is gone releases nothing (closing the account does).
func TestGoneReleasesNothing(t *testing.T) {
	f := newFixture(t, 1<<20, nil)
	f.send(t, 3, 10, 1000)
	f.src.unread, f.src.err = 0, errors.New("gone")
	f.observeAll()
	if got := f.acct.Used(); got != 3000 {
		t.Errorf("held %d, want 3000", got)
	}
}

// After a burst the ledger's ring is dropped once it empties: an idle
// association holds none.
func TestLedgerShrinks(t *testing.T) {
	f := newFixture(t, 1<<30, nil)
	f.send(t, 10_000, 1, 10)
	f.src.unread = 0
	f.observeAll()
	if f.g.l.entries != nil {
		t.Errorf("ring of %d entries kept after it emptied", len(f.g.l.entries))
	}
}

// After a burst the ring shrinks as the burst is released, not only once it
// empties: a consumer that keeps a message or two unread (a stale window hides
// them) after 100,000 were in flight leaves a ring of ringKeep, and traffic
// that holds a steady number of messages moves the ring nowhere.
func TestLedgerShrinksWhileHolding(t *testing.T) {
	var l ledger
	const burst = 100_000
	for range burst {
		l.push(entry{cost: 10, payload: 1, chunks: 1})
	}
	peak := len(l.entries)
	for l.n > 2 {
		l.releaseBeyond(max(2, l.n-1000))
		if l.n > 0 && len(l.entries) > max(ringKeep, 4*l.n) {
			t.Fatalf("%d held in a ring of %d (the burst's was %d)", l.n, len(l.entries), peak)
		}
	}
	if len(l.entries) > ringKeep || l.cost != 20 {
		t.Fatalf("%d held (cost %d) in a ring of %d after a burst of %d (ring %d)", l.n, l.cost, len(l.entries), burst, peak)
	}
	if got := l.newest(0); got.cost != 10 {
		t.Fatalf("newest entry after shrinking: %+v", got)
	}

	// Steady traffic: between 300 and 1,000 held, a ring of 1,024 stays.
	for l.n < 1000 {
		l.push(entry{cost: 10, payload: 1, chunks: 1})
	}
	ring := &l.entries[0]
	for range 100 {
		l.releaseBeyond(300)
		for l.n < 1000 {
			l.push(entry{cost: 10, payload: 1, chunks: 1})
		}
		if &l.entries[0] != ring {
			t.Fatalf("steady traffic (300 to 1,000 held) moved the ring, now %d slots", len(l.entries))
		}
	}
	l.releaseBeyond(0)
	if l.entries != nil || l.cost != 0 {
		t.Fatalf("an empty ledger kept a ring of %d (cost %d)", len(l.entries), l.cost)
	}
}

// A consumer that read everything but whose window is stale is probed: the
// waiting message goes beyond the quota after probeFirst, then at doubling
// intervals while nothing moves; a release resets the interval.
func TestStaleWindowProbes(t *testing.T) {
	f := newFixture(t, 10*1000, nil)
	f.send(t, 10, 1, 1000)
	f.g.Wait()
	if f.g.ProbeDue(1000) {
		t.Fatal("probe due at once")
	}
	f.clk.advance(probeFirst)
	if !f.g.ProbeDue(1000) {
		t.Fatal("no probe after probeFirst")
	}
	f.probe(t, 1000)
	f.clk.advance(probeFirst)
	if f.g.ProbeDue(1000) {
		t.Error("second probe after probeFirst: the interval should have doubled")
	}
	f.clk.advance(probeFirst)
	if !f.g.ProbeDue(1000) {
		t.Error("no second probe after 2×probeFirst")
	}
	// The consumer had read everything: the probe's SACK says so.
	f.src.unread = 0
	f.obs.round()
	if got := f.acct.Used(); got != 0 {
		t.Errorf("held %d after the probe's SACK, want 0", got)
	}
	if got := f.g.Status().Probes; got != 1 {
		t.Errorf("probes = %d, want 1", got)
	}
}

// probe sends one waiting message as a probe, as the pipe does.
func (f *fixture) probe(t *testing.T, cost int64) {
	t.Helper()
	if err := f.acct.Overdraw(cost); err != nil {
		t.Fatal(err)
	}
	f.g.Probed(cost, 1)
	f.src.unread++
}

// TestPermanentStall states the worst case: a consumer that never reads again.
// The overdraft stays within an eighth of the quota plus one message per
// doubling of the stall's length, and probes stop being frequent.
func TestPermanentStall(t *testing.T) {
	const limit, cost = 1 << 20, 1856 // the seed scenario: 1-byte messages, 1 MiB
	f := newFixture(t, limit, nil)
	f.src.window, f.g.window = 8<<20, 8<<20 // the seed's receiver: SO_RCVBUF 8 MiB
	f.send(t, limit/cost, 1, cost)
	f.g.Wait()
	start := f.clk.t
	check := func(after time.Duration) {
		for f.clk.t.Sub(start) < after {
			f.clk.advance(max(10*time.Millisecond, f.clk.t.Sub(start)/10_000))
			if f.g.ProbeDue(cost) {
				f.probe(t, cost)
			}
			f.obs.round()
		}
		over := f.acct.Used() - limit
		fast := int64(limit/overdraftShare + cost)
		doublings := math.Log2(float64(after) / float64(probeFastMax))
		bound := fast + int64(math.Ceil(doublings)+1)*cost
		t.Logf("after %v: overdraft %d B (%d probes), bound %d B", after, over, f.g.Status().Probes, bound)
		if over > bound {
			t.Errorf("after %v: overdraft %d B, over the stated bound %d B", after, over, bound)
		}
	}
	check(time.Minute)
	check(time.Hour)
	check(6 * time.Hour)
}

// One round reads the receive-queue table once for every gate due, and a gate
// is sampled as often whether the process has 10 gates or 1,000: the observer's
// cost grows with the associations, not their square.
func TestObserverCostLinear(t *testing.T) {
	per := func(n int) float64 {
		clk := &clock{t: time.Unix(1e9, 0)}
		obs := NewObserver()
		obs.now = clk.now
		obs.ReceiveQueues = func() (map[sctpsock.PortPair]int64, error) { return nil, nil }
		budget := quota.NewBudget("global", 0, nil)
		for i := range n {
			acct, _ := budget.Open(1<<20, -1)
			rx := sctpsock.PortPair{Local: uint16(i + 1), Remote: 1}
			g := obs.Open(acct, &consumer{window: 1000, unread: 1000}, 1000, &rx)
			acct.TryCharge(100)
			g.Sent(100, 1)
			g.Wait() // stalled: nothing is ever released
		}
		for range 10_000 { // 10 s
			clk.advance(time.Millisecond)
			obs.round()
		}
		rounds, samples, reads := obs.Counts()
		if reads > rounds {
			t.Errorf("%d gates: %d table reads in %d rounds, want at most one per round", n, reads, rounds)
		}
		return float64(samples) / float64(n)
	}
	few, many := per(10), per(1000)
	t.Logf("samples per gate in 10 s: %.1f with 10 gates, %.1f with 1,000", few, many)
	if many > 1.1*few || many > 100 {
		t.Errorf("samples per gate: %.1f with 1,000 gates, %.1f with 10", many, few)
	}
}

// The probe schedule lasts across the waits of successive messages: a probe ends
// one wait and the next message waits again, but the interval goes on doubling
// until something is released.
func TestProbeScheduleOutlivesWaits(t *testing.T) {
	f := newFixture(t, 10*1000, nil)
	f.send(t, 10, 1, 1000)
	f.g.Wait()
	f.clk.advance(probeFirst)
	if !f.g.ProbeDue(1000) {
		t.Fatal("no probe after probeFirst")
	}
	f.probe(t, 1000)
	f.g.Resume()
	f.g.Wait() // the next message
	f.clk.advance(probeFirst)
	if f.g.ProbeDue(1000) {
		t.Error("a new wait restarted the probe interval, though nothing was released")
	}
}

// A consumer whose own queue the gate reads is never probed: its queue is never
// stale, so a probe would only add to what it holds.
func TestVisibleQueueNotProbed(t *testing.T) {
	rx := sctpsock.PortPair{Local: 1, Remote: 2}
	f := newFixture(t, 10*1000, &rx)
	f.obs.ReceiveQueues = func() (map[sctpsock.PortPair]int64, error) {
		return map[sctpsock.PortPair]int64{rx: 10 * 233}, nil
	}
	f.send(t, 10, 1, 1000)
	f.observeAll()
	f.g.Wait()
	f.clk.advance(time.Minute)
	if f.g.ProbeDue(1000) {
		t.Error("probe of a consumer whose queue is visible")
	}
}

// Settle releases from the window at once, and leaves the gate's view of a
// consumer whose queue it reads as it was (a consumer it reads by queue is still
// never probed).
func TestSettleByWindow(t *testing.T) {
	rx := sctpsock.PortPair{Local: 1, Remote: 2}
	f := newFixture(t, 1<<20, &rx)
	f.obs.ReceiveQueues = func() (map[sctpsock.PortPair]int64, error) {
		return map[sctpsock.PortPair]int64{rx: 10 * 233}, nil
	}
	f.send(t, 10, 1, 1000)
	f.observeAll() // by queue: all 10 held
	f.src.unread = 4
	if freed := f.g.Settle(); freed != 6*1000 {
		t.Errorf("Settle freed %d, want the 6 oldest (6000)", freed)
	}
	if st := f.g.Status(); st.Source != SourceQueue {
		t.Errorf("after Settle the gate reads its consumer by %s, want queue", st.Source)
	}
}

// TestSharedStallBound is the permanent stall of many associations that a
// shared budget limits before their own quotas do (1,000 associations under a
// 160 MiB global quota, scaled down): together they overdraw at the fast rate
// only within an eighth of the shared budget, then each one message per
// doubling of the stall's length.
func TestSharedStallBound(t *testing.T) {
	const assocs, limit, global, cost = 100, 1 << 20, 4 << 20, 1856
	clk := &clock{t: time.Unix(1e9, 0)}
	obs := NewObserver()
	obs.now = clk.now
	budget := quota.NewBudget("global", global, nil)
	var gates []*Gate
	var accts []*quota.Account
	var srcs []*consumer
	for range assocs {
		acct, err := budget.Open(limit, -1)
		if err != nil {
			t.Fatal(err)
		}
		src := &consumer{window: 8 << 20}
		g := obs.Open(acct, src, 1000, nil)
		g.window = src.window
		gates, accts, srcs = append(gates, g), append(accts, acct), append(srcs, src)
	}
	for i := 0; ; i = (i + 1) % assocs { // fill the global budget round-robin
		if ok, err := accts[i].TryCharge(cost); err != nil || !ok {
			break
		}
		gates[i].Sent(cost, 1)
		srcs[i].unread++ // the consumer never reads
	}
	for _, g := range gates {
		g.Wait()
	}
	start := clk.t
	for _, after := range []time.Duration{time.Minute, time.Hour} {
		for clk.t.Sub(start) < after {
			clk.advance(max(10*time.Millisecond, clk.t.Sub(start)/10_000))
			for i, g := range gates {
				if g.ProbeDue(cost) {
					if err := accts[i].Overdraw(cost); err != nil {
						t.Fatal(err)
					}
					g.Probed(cost, 1)
					srcs[i].unread++
				}
			}
			obs.round()
		}
		var over int64
		for _, a := range accts {
			over += a.Overdrawn()
		}
		doublings := math.Ceil(math.Log2(float64(after) / float64(probeFastMax)))
		bound := int64(global/overdraftShare) + assocs*int64(doublings+2)*cost
		t.Logf("after %v: %d associations overdrew %d B together (global quota %d B), bound %d B", after, assocs, over, global, bound)
		if over > bound {
			t.Errorf("after %v: overdraft %d B, over the stated bound %d B", after, over, bound)
		}
	}
}

// StalledFor counts from the wait's start while nothing is released and the
// account is full, starts again at each release, and stays zero while the
// charge waits for a shared budget rather than for this consumer.
func TestStalledFor(t *testing.T) {
	f := newFixture(t, 10*1000, nil)
	f.send(t, 10, 1, 1000)
	if d := f.g.StalledFor(1000); d != 0 {
		t.Errorf("stalled %v before any wait, want 0", d)
	}
	f.g.Wait()
	f.clk.advance(3 * time.Second)
	if d := f.g.StalledFor(1000); d != 3*time.Second {
		t.Errorf("stalled %v after 3s with nothing released, want 3s", d)
	}
	f.probe(t, 1000) // a probe's SACK shows the consumer still holds everything
	f.obs.round()
	f.g.Resume()
	f.g.Wait() // the next message waits in the same stall
	f.clk.advance(time.Second)
	if d := f.g.StalledFor(1000); d != 4*time.Second {
		t.Errorf("stalled %v after a probe that released nothing, want 4s", d)
	}
	f.src.unread -= 2 // the consumer reads two messages
	f.obs.round()
	if d := f.g.StalledFor(100_000); d != 0 {
		t.Errorf("stalled %v right after a release, want 0", d)
	}
	f.clk.advance(time.Second)
	if d := f.g.StalledFor(100_000); d != time.Second {
		t.Errorf("stalled %v a second after the release, want 1s", d)
	}
	// Room in the account: the charge waits for a shared budget.
	if d := f.g.StalledFor(1); d != 0 {
		t.Errorf("stalled %v with room for the charge in the account, want 0", d)
	}
	f.clk.advance(time.Second)
	if d := f.g.StalledFor(100_000); d != time.Second {
		t.Errorf("stalled %v a second after the account had room, want 1s", d)
	}
}
