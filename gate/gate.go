package gate

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/sctpguard/sctpguard/quota"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// Sample is what this host's kernel says about one consumer's association at one
// instant.
type Sample struct {
	// PeerRwnd is the consumer's receive window as this host's kernel knows it
	// (SCTP_STATUS sstat_rwnd): what the consumer last advertised, less what was
	// sent since.
	PeerRwnd uint32
	// SendQueued is what this host's kernel holds of the DATA written toward the
	// consumer, unsent or unacknowledged, as it counts it against the send buffer
	// (sock_diag's idiag_wqueue, the association's sndbuf_used; SO_MEMINFO's
	// wmem_queued on a one-to-one socket): payload and buffers.
	SendQueued int64
}

// A Source samples the association a gate's messages are written to. An error
// means the association is gone or going: the gate releases nothing on it.
type Source interface {
	Sample() (Sample, error)
}

// Gate decides when the charges of the messages written toward one consumer are
// released: only once this host's kernel has let a message go and the consumer has
// read it, as far as sctpguard can see (see the package doc). One per direction of
// an association; its methods are safe for concurrent use.
type Gate struct {
	acct     *quota.Account
	src      Source
	obs      *Observer
	frag     int                // payload bytes per DATA chunk toward the consumer
	receiver *sctpsock.PortPair // the consumer's own socket on this host, if visible
	pressure int64              // held cost from which releases must not lag: half acct's reserve

	mu      sync.Mutex
	l       ledger
	window  uint32 // the largest window the consumer offered: what it offers with nothing unread
	unread  int64  // payload the consumer holds, unread or unacknowledged, at the last reading
	byQueue bool   // the last reading saw the consumer's own queue
	closed  bool
	stall   stall

	// Guarded by obs.mu: the gate's place in the observer's schedule.
	due     time.Time
	step    time.Duration
	idx     int // in obs.due; -1 while not scheduled
	waiting bool
	// scheduled mirrors idx >= 0, for Sent to skip the observer's lock.
	scheduled atomic.Bool
}

// stall is the probe schedule of a gate whose charges wait while nothing moves. It
// lasts across the waits of successive messages (a probe ends one wait, the next
// message waits again) until a reading releases something.
type stall struct {
	waiting bool
	moving  bool          // something was released since the schedule started: start it anew
	next    time.Time     // when the next probe may go
	step    time.Duration // the interval before it
	probes  uint64        // probes sent, ever
	since   time.Time     // when the consumer last moved (a release), or the schedule began
}

// Open returns the gate of the messages written toward the consumer that src
// samples, charged to acct. frag is the association's fragmentation point (0: a
// default). receiver names the consumer's own socket when it is on this host, in
// this network namespace, so that its receive queue can be read (nil otherwise).
// The window the consumer offers with nothing unread is learned from a first
// sample: call Open before writing anything toward the consumer.
func (o *Observer) Open(acct *quota.Account, src Source, frag uint32, receiver *sctpsock.PortPair) *Gate {
	if frag == 0 {
		frag = defaultFrag
	}
	g := &Gate{acct: acct, src: src, obs: o, frag: int(frag), receiver: receiver, idx: -1, pressure: acct.Reserved() / 2}
	if s, err := src.Sample(); err == nil {
		g.window = s.PeerRwnd
	}
	return g
}

// Frag is the fragmentation point the gate counts chunks with.
func (g *Gate) Frag() int { return g.frag }

// Sent records a message of payload bytes just written toward the consumer and
// charged at cost; its charge is released when the kernel and the consumer let
// it go.
func (g *Gate) Sent(cost int64, payload int) {
	if g.push(cost, payload) {
		g.obs.schedule(g, waitFirst, true)
		return
	}
	g.obs.schedule(g, idleFirst, false)
}

// push records a message and reports whether the gate's charges just reached
// its pressure: beyond its reserve, its next charges would borrow from budgets
// others may have filled, so what the kernel let go of must be released soon.
func (g *Gate) push(cost int64, payload int) (pressing bool) {
	chunks := 1
	if payload > g.frag {
		chunks = 1 + (payload-1)/g.frag
	}
	g.mu.Lock()
	before := g.l.cost
	g.l.push(entry{cost: cost, payload: int32(payload), chunks: int32(chunks)})
	pressing = g.pressure > 0 && before < g.pressure && g.l.cost >= g.pressure
	g.mu.Unlock()
	return pressing
}

// Wait tells the gate that a charge toward its consumer waits: the observer looks
// at the consumer at once and then often, and the stall clock of ProbeDue starts.
//
// A wait that continues a stall (the previous wait ended with a probe and
// nothing moved since) keeps the observer's backoff: the consumer was looked at
// a moment ago, and the probe's answer is read by itself (Probed).
func (g *Gate) Wait() {
	g.mu.Lock()
	fresh := g.stall.moving || g.stall.step == 0
	if fresh {
		now := g.obs.now()
		g.stall.moving = false
		g.stall.next, g.stall.step = now.Add(probeFirst), probeFirst
		g.stall.since = now
	}
	g.stall.waiting = true
	g.mu.Unlock()
	g.obs.setWaiting(g, true, fresh)
}

// Resume tells the gate the waiting charge went through.
func (g *Gate) Resume() {
	g.mu.Lock()
	g.stall.waiting = false
	g.mu.Unlock()
	g.obs.setWaiting(g, false, false)
}

// ProbeDue reports whether a waiting message of cost should be sent now as a
// probe, charged beyond the quota (quota.Account.Overdraw): the gate holds
// messages, nothing has been released for the probe interval, and the consumer's
// window may be stale (a consumer whose own queue the gate reads is never
// probed: its queue is never stale). The interval doubles from probeFirst up to
// probeFastMax while the overdraft stays within a share (1/overdraftShare) of
// the association's quota and of every shared level's (the socket's, the
// host's: quota.Account.OverdraftFits), and keeps doubling beyond. A release
// resets it.
func (g *Gate) ProbeDue(cost int64) bool {
	now := g.obs.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.stall.waiting || g.byQueue || g.l.n == 0 || now.Before(g.stall.next) {
		return false
	}
	step := 2 * g.stall.step
	if g.acct.OverdraftFits(cost, overdraftShare) {
		step = min(step, probeFastMax)
	}
	g.stall.step = step
	g.stall.next = now.Add(step)
	return true
}

// UntilProbe is how long until ProbeDue may next say yes (0: it may now, or it
// never will while nothing is held), so that a waiting pipe wakes when a probe
// is due rather than at its next check.
func (g *Gate) UntilProbe() time.Duration {
	now := g.obs.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.stall.waiting || g.byQueue || g.l.n == 0 {
		return 0
	}
	return max(g.stall.next.Sub(now), 0)
}

// slow reports whether the gate's stall is past its fast probes (the probe
// interval is beyond probeFastMax): the observer then samples it less often.
func (g *Gate) slow() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stall.waiting && g.stall.step > probeFastMax
}

// StalledFor is how long the consumer has not moved while a charge of cost
// waits for the gate's own account: the time since the later of the stall's
// start (the first Wait since something was released) and the last release.
// It is zero while no charge waits, and while the account has room for cost
// (the charge then waits for a shared budget, which is not this consumer's
// doing: the clock starts again once the account is full).
func (g *Gate) StalledFor(cost int64) time.Duration {
	now := g.obs.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.stall.waiting {
		return 0
	}
	if limit := g.acct.Limit(); limit == 0 || g.acct.Used()+cost <= limit {
		g.stall.since = now
		return 0
	}
	return now.Sub(g.stall.since)
}

// Probed records a message written as a probe (see ProbeDue); the observer
// reads the consumer's answer soon.
func (g *Gate) Probed(cost int64, payload int) {
	g.push(cost, payload)
	g.mu.Lock()
	g.stall.probes++
	g.mu.Unlock()
	g.obs.advance(g, probeEcho, false) // once; the backoff goes on after it
}

// Close takes the gate out of the observer's schedule. What it held is released
// by closing its account.
func (g *Gate) Close() {
	g.mu.Lock()
	g.closed = true
	g.l = ledger{}
	g.mu.Unlock()
	g.obs.unschedule(g)
}

// Flushed reports whether this host's kernel holds nothing of what was written
// toward the consumer (all sent and acknowledged), or the association is gone.
func (g *Gate) Flushed() bool {
	s, err := g.src.Sample()
	return err != nil || s.SendQueued == 0
}

// mark is the number of messages pushed so far: a reading that begins now
// reflects none of those pushed after.
func (g *Gate) mark() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.l.sent
}

// Settle samples the consumer now, from the caller's goroutine, and releases what
// its window and this host's send queue show let go; it returns the bytes
// released. A pipe whose charge does not fit calls it before it waits, so that what
// was acknowledged since the observer last looked makes room at once. It reads
// only the window, never the receive-queue table: for a Linux consumer the window
// keeps at least what its queue would (it may be stale, never early).
func (g *Gate) Settle() int64 {
	mark := g.mark()
	s, err := g.src.Sample()
	if err != nil {
		return 0
	}
	return g.release(mark, s, 0, false, false)
}

// apply releases what a reading, begun at mark, shows let go. rx is the
// consumer's receive queue as its kernel counts it, if haveRx. It returns the
// bytes released.
func (g *Gate) apply(mark uint64, s Sample, rx int64, haveRx bool) int64 {
	return g.release(mark, s, rx, haveRx, true)
}

// release is apply; record says whether the reading is the gate's view of its
// consumer (the observer's) or only a quick look (Settle), which leaves that view
// as it was.
func (g *Gate) release(mark uint64, s Sample, rx int64, haveRx, record bool) int64 {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return 0
	}
	g.window = max(g.window, s.PeerRwnd)
	keep := int(g.l.sent - mark) // pushed after the reading began: not in it
	keep = g.l.cover(keep, s.SendQueued, sendCountedPerChunk)
	unread := rx
	if haveRx {
		keep = g.l.cover(keep, rx, rxCountedPerChunk)
	} else {
		unread = int64(g.window - s.PeerRwnd)
		if s.PeerRwnd == 0 {
			keep++ // a closed window may hide a chunk sent beyond it (a window probe)
		}
		keep = g.l.cover(keep, unread, 0)
	}
	if record {
		g.byQueue, g.unread = haveRx, unread
	}
	freed := g.l.releaseBeyond(keep)
	if freed > 0 {
		g.stall.moving = true
		g.stall.since = g.obs.now()
		if g.stall.waiting {
			g.stall.step = probeFirst
			g.stall.next = g.obs.now().Add(probeFirst)
		}
	}
	g.mu.Unlock()
	if freed > 0 {
		g.acct.Release(freed)
	}
	return freed
}

// pressing reports whether the gate holds its pressure or more (see push): it is
// then sampled as if a charge waited.
func (g *Gate) pressing() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.pressure > 0 && g.l.cost >= g.pressure
}

// held reports whether the gate holds any message.
func (g *Gate) held() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.l.n > 0
}

// Status is a gate's state, for status reports.
type Status struct {
	Held     int    // messages whose charge is held
	HeldCost int64  // their charge
	Unread   int64  // payload the consumer holds unread or unacknowledged, at the last reading
	Source   string // what Unread was read from: SourceQueue or SourceWindow
	Window   uint32 // the window the consumer offers with nothing unread
	Probes   uint64 // messages sent as probes of a stale window
}

// What a gate reads its consumer's unread messages from.
const (
	SourceQueue  = "queue"  // the consumer's own receive queue, on this host
	SourceWindow = "window" // the consumer's receive window, wherever it is
)

// Status returns the gate's state.
func (g *Gate) Status() Status {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := Status{Held: g.l.n, HeldCost: g.l.cost, Unread: g.unread, Source: SourceWindow, Window: g.window, Probes: g.stall.probes}
	if g.byQueue {
		st.Source = SourceQueue
	}
	return st
}
