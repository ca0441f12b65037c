package proxy

import (
	"context"
	"sync"
	"time"

	"github.com/sctpguard/sctpguard/quota"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// settleEvery is how often a pipe whose account is full asks the kernel what it still
// holds; acknowledgements arriving in between free nothing until then. While asking
// frees nothing (the receiver has stalled) the pipe asks less and less often, down to
// every settleAtMost: each question about a local receiver reads /proc.
const (
	settleEvery  = 2 * time.Millisecond
	settleAtMost = 32 * time.Millisecond
)

// inflight remembers the messages a pipe wrote that the kernel may still hold, oldest
// first, so their charges are released when the kernel lets them go and not before.
type inflight struct {
	mu      sync.Mutex
	acct    *quota.Account
	entries []heldMsg // ring, oldest at head
	head, n int
	pushed  uint64 // messages pushed, ever
	chunks  int    // sum of entries' chunks
	cost    int64  // sum of entries' costs
	frag    int    // fragmentation point of dst: bytes per DATA chunk

	// receiver is dst's peer seen from its own side, when that peer is a socket on
	// this host: what it has received but not yet read is still this host's memory,
	// so a charge is released only once the receiver has consumed the message.
	receiver *sctpsock.PortPair
	// window is the receive window dst's peer offered before anything was sent to it:
	// what it offers with nothing unread. Zero if unknown (see learnWindow).
	window uint32
}

type heldMsg struct {
	cost    int64
	chunks  int
	payload int
	rx      int64 // what a local receiver's queue counts for it: see rxCountedPerChunk
}

// rxCountedPerChunk is what Linux counts in a receiving socket's queue (RX_QUEUE in
// /proc/net/sctp/assocs, sk_rmem_alloc) per DATA chunk beyond its payload:
// sctp_ulpevent_make_rcvmsg charges skb->len + sizeof(struct sk_buff), 232 bytes on
// Linux 6.1 x86-64, while the chunk really holds ~1.6 KB there for a 1-byte message
// (the shared packet buffer, the sk_buff clone and the sctp_chunk). So RX_QUEUE bytes
// are not true cost: they tell how many of the messages are still queued, and each of
// those holds its own true cost. A lower bound for sizeof(struct sk_buff) is used so
// that the count of messages still queued comes out high, never low.
const rxCountedPerChunk = 224

func newInflight(acct *quota.Account, frag uint32) *inflight {
	if frag == 0 {
		frag = 1452
	}
	return &inflight{acct: acct, frag: int(frag)} // the ring is allocated on first use: idle associations hold none
}

// push records a message of payload bytes just written, charged at cost.
func (f *inflight) push(cost int64, payload int) {
	c := 1 + (payload-1)/f.frag
	if payload == 0 {
		c = 1
	}
	f.mu.Lock()
	if f.n == len(f.entries) {
		f.grow()
	}
	f.entries[(f.head+f.n)%len(f.entries)] = heldMsg{cost: cost, chunks: c, payload: payload, rx: int64(payload + c*rxCountedPerChunk)}
	f.n++
	f.pushed++
	f.chunks += c
	f.cost += cost
	f.mu.Unlock()
}

func (f *inflight) grow() {
	e := make([]heldMsg, max(16, 2*len(f.entries)))
	for i := 0; i < f.n; i++ {
		e[i] = f.entries[(f.head+i)%len(f.entries)]
	}
	f.entries, f.head = e, 0
}

// release releases the oldest messages until what remains is what the kernel still
// holds: the newest kernelChunks chunks in dst's send queue and, older than those, the
// messages a local receiver's queue still counts receiverRx bytes for (RX_QUEUE). The
// newest extra messages are kept whatever the kernel said: those pushed after it was
// asked.
func (f *inflight) release(kernelChunks int, receiverRx int64, extra int) (freed int64) {
	f.mu.Lock()
	return f.releaseBeyond(f.held(kernelChunks, receiverRx, false) + extra)
}

// releaseBeyond releases every message but the newest keep; f.mu is held, and
// unlocked.
func (f *inflight) releaseBeyond(keep int) (freed int64) {
	for f.n > keep {
		m := f.entries[f.head]
		f.head = (f.head + 1) % len(f.entries)
		f.n--
		f.chunks -= m.chunks
		f.cost -= m.cost
		freed += m.cost
	}
	f.mu.Unlock()
	if freed > 0 {
		f.acct.Release(freed)
	}
	return freed
}

// held is how many of the newest messages make up the last chunks chunks plus, before
// them, n bytes: of a receiver's queue as the kernel counts it, or of payload.
func (f *inflight) held(chunks int, n int64, payload bool) int {
	keep := 0
	for ; keep < f.n && (chunks > 0 || n > 0); keep++ {
		m := f.entries[(f.head+f.n-1-keep)%len(f.entries)]
		switch {
		case chunks > 0:
			chunks -= m.chunks
		case payload:
			n -= int64(m.payload)
		default:
			n -= m.rx
		}
	}
	return keep
}

// learnWindow records the receive window dst's peer offers, for settleQuick; only
// before anything was written to dst.
func (f *inflight) learnWindow(dst statuser) {
	if f.receiver == nil || f.mark() != 0 {
		return
	}
	if st, err := dst.Status(); err == nil {
		f.window = st.PeerRwnd
	}
}

// settleQuick is settle without reading /proc for a local receiver while dst hears
// from it: Linux's receive window shrinks by the payload of what is queued unread
// (and closes when the queue is full), and every SACK reports it, so the window
// offered before anything was sent, less the peer's window as dst knows it now, is
// at least the payload the receiver has not read or dst has not seen acknowledged.
// The newest messages carrying that much payload, and those not yet sent, are kept.
// A window dst last heard of long ago only keeps more. settle, reading /proc, is
// used when the window is not known.
func (f *inflight) settleQuick(dst statuser) int64 {
	if f.receiver == nil || f.window == 0 {
		return f.settle(dst, nil, 0)
	}
	st, err := dst.Status()
	if err != nil {
		return 0
	}
	if st.PeerRwnd > f.window {
		return f.settle(dst, nil, 0)
	}
	f.mu.Lock()
	return f.releaseBeyond(f.held(int(st.Pending), int64(f.window-st.PeerRwnd), true))
}

// senderDry is called when dst reports its send queue empty (SENDER_DRY): every
// message is acknowledged. A remote receiver's memory is not this host's, so all is
// released.
func (f *inflight) senderDry() {
	if f.receiver == nil {
		f.release(0, 0, 0)
	}
	// A local receiver's queue is read when this pipe next waits for its quota, or by
	// the relay's settle loop once its charges grow heavy: reading /proc on every
	// SENDER_DRY would cost a full table scan per acknowledged message.
}

// mark returns how many messages have been pushed so far, for settle.
func (f *inflight) mark() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pushed
}

// settle asks the kernel what it still holds of the messages written to dst (its
// unacknowledged and unsent chunks, and a local receiver's unread queue) and
// releases the charges of the rest. dst may be nil once its send queue is known
// empty. rxq, the receive queues of the host, is read from /proc when nil; when given,
// it must have been read after mark returned since: the messages pushed since then may
// be missing from it, so they are kept. It returns the bytes released.
func (f *inflight) settle(dst statuser, rxq map[sctpsock.PortPair]int64, since uint64) int64 {
	chunks := 0
	if dst != nil {
		st, err := dst.Status()
		if err != nil {
			return 0 // the association is ending; Close releases everything
		}
		chunks = int(st.Unacked) + int(st.Pending)
	}
	var rx int64
	extra := 0
	if f.receiver != nil {
		if rxq == nil {
			var err error
			if rxq, err = sctpsock.ReceiveQueues(); err != nil {
				return 0
			}
		} else {
			extra = int(f.mark() - since)
		}
		rx = rxq[*f.receiver]
	}
	return f.release(chunks, rx, extra)
}

// heavy reports whether the charges held reach a quarter of the account's limit.
func (f *inflight) heavy() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cost > 0 && f.cost >= f.acct.Limit()/4
}

func (f *inflight) empty() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n == 0
}

// chargeWithin charges cost, waiting at most wait (the caller then settles, checks
// its source and retries).
func chargeWithin(ctx context.Context, acct *quota.Account, cost int64, wait time.Duration) error {
	if ok, err := acct.TryCharge(cost); ok || err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	return acct.Charge(cctx, cost)
}
