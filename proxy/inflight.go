package proxy

import (
	"context"
	"sync"
	"time"

	"github.com/sctpguard/sctpguard/quota"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// settleEvery is how often a pipe whose account is full asks the kernel what it still
// holds; acknowledgements arriving in between free nothing until then.
const settleEvery = 2 * time.Millisecond

// inflight remembers the messages a pipe wrote that the kernel may still hold, oldest
// first, so their charges are released when the kernel lets them go and not before.
type inflight struct {
	mu      sync.Mutex
	acct    *quota.Account
	entries []heldMsg // ring, oldest at head
	head, n int
	chunks  int   // sum of entries' chunks
	cost    int64 // sum of entries' costs
	frag    int   // fragmentation point of dst: bytes per DATA chunk

	// receiver is dst's peer seen from its own side, when that peer is a socket on
	// this host: what it has received but not yet read is still this host's memory,
	// so a charge is released only once the receiver has consumed the message.
	receiver *sctpsock.PortPair
}

type heldMsg struct {
	cost   int64
	chunks int
}

func newInflight(acct *quota.Account, frag uint32) *inflight {
	if frag == 0 {
		frag = 1452
	}
	return &inflight{acct: acct, entries: make([]heldMsg, 64), frag: int(frag)}
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
	f.entries[(f.head+f.n)%len(f.entries)] = heldMsg{cost: cost, chunks: c}
	f.n++
	f.chunks += c
	f.cost += cost
	f.mu.Unlock()
}

func (f *inflight) grow() {
	e := make([]heldMsg, 2*len(f.entries))
	for i := 0; i < f.n; i++ {
		e[i] = f.entries[(f.head+i)%len(f.entries)]
	}
	f.entries, f.head = e, 0
}

// release releases the oldest messages until what remains is what the kernel still
// holds: the newest kernelChunks chunks in dst's send queue, plus receiverHeld bytes
// of true cost in a local receiver's queue.
func (f *inflight) release(kernelChunks int, receiverHeld int64) {
	f.mu.Lock()
	held := f.tailCost(kernelChunks) + receiverHeld
	var freed int64
	for f.n > 0 && f.cost > held {
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
}

// tailCost is the cost of the newest messages that make up the last chunks chunks.
func (f *inflight) tailCost(chunks int) int64 {
	var c int64
	for i := f.n - 1; i >= 0 && chunks > 0; i-- {
		m := f.entries[(f.head+i)%len(f.entries)]
		c += m.cost
		chunks -= m.chunks
	}
	return c
}

// senderDry is called when dst reports its send queue empty (SENDER_DRY): every
// message is acknowledged. A remote receiver's memory is not this host's, so all is
// released.
func (f *inflight) senderDry() {
	if f.receiver == nil {
		f.release(0, 0)
	}
	// A local receiver's queue is read when this pipe next waits for its quota, or by
	// the relay's settle loop once its charges grow heavy: reading /proc on every
	// SENDER_DRY would cost a full table scan per acknowledged message.
}

// settle asks the kernel what it still holds of the messages written to dst (its
// unacknowledged and unsent chunks, and a local receiver's unread queue) and
// releases the charges of the rest. dst may be nil once its send queue is known
// empty; rxq may be nil, and is then read from /proc.
func (f *inflight) settle(dst *sctpsock.Conn, rxq map[sctpsock.PortPair]int64) {
	chunks := 0
	if dst != nil {
		st, err := dst.Status()
		if err != nil {
			return // the association is ending; Close releases everything
		}
		chunks = int(st.Unacked) + int(st.Pending)
	}
	var rx int64
	if f.receiver != nil {
		if rxq == nil {
			var err error
			if rxq, err = sctpsock.ReceiveQueues(); err != nil {
				return
			}
		}
		rx = rxq[*f.receiver]
	}
	f.release(chunks, rx)
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

// chargeWithin charges cost, waiting at most settleEvery while this pipe still has
// messages in flight (the caller then settles and retries), or until ctx ends otherwise.
func (f *inflight) chargeWithin(ctx context.Context, acct *quota.Account, cost int64) error {
	if ok, err := acct.TryCharge(cost); ok || err != nil {
		return err
	}
	if f.empty() {
		return acct.Charge(ctx, cost)
	}
	cctx, cancel := context.WithTimeout(ctx, settleEvery)
	defer cancel()
	return acct.Charge(cctx, cost)
}
