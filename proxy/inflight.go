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
	chunks  int // sum of entries' chunks
	frag    int // fragmentation point of dst: bytes per DATA chunk
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
	f.mu.Unlock()
}

func (f *inflight) grow() {
	e := make([]heldMsg, 2*len(f.entries))
	for i := 0; i < f.n; i++ {
		e[i] = f.entries[(f.head+i)%len(f.entries)]
	}
	f.entries, f.head = e, 0
}

// releaseDownTo releases the oldest messages until at most kernelChunks remain held.
func (f *inflight) releaseDownTo(kernelChunks int) {
	var freed int64
	f.mu.Lock()
	for f.n > 0 && f.chunks > kernelChunks {
		m := f.entries[f.head]
		f.head = (f.head + 1) % len(f.entries)
		f.n--
		f.chunks -= m.chunks
		freed += m.cost
	}
	f.mu.Unlock()
	if freed > 0 {
		f.acct.Release(freed)
	}
}

// releaseAll is called when dst reports its send queue empty (SENDER_DRY).
func (f *inflight) releaseAll() { f.releaseDownTo(0) }

// settle asks dst's kernel how many chunks it still holds (unacknowledged or not yet
// sent) and releases the charges of the rest.
func (f *inflight) settle(dst *sctpsock.Conn) {
	st, err := dst.Status()
	if err != nil {
		return // the association is ending; Close releases everything
	}
	f.releaseDownTo(int(st.Unacked) + int(st.Pending))
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
