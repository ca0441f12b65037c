package proxy

import (
	"testing"

	"github.com/sctpguard/sctpguard/quota"
)

func newTestInflight(t *testing.T) (*inflight, *quota.Account) {
	t.Helper()
	acct, err := quota.NewBudget("global", 0, nil).Open(1<<20, -1)
	if err != nil {
		t.Fatal(err)
	}
	return newInflight(acct, 1000), acct
}

// A local receiver's RX_QUEUE counts payload and an sk_buff per chunk, not true cost:
// it tells how many of the newest messages are still queued.
func TestReleaseByReceiverQueue(t *testing.T) {
	f, acct := newTestInflight(t)
	model := quota.CostModel{}
	for range 10 {
		acct.TryCharge(model.Cost(1))
		f.push(model.Cost(1), 1)
	}
	// Linux 6.1 counts 1 + 232 bytes for each 1-byte message: 3 still queued. The
	// lower bound taken for an sk_buff makes it look like a little more than 3,
	// and a fourth is kept: never fewer than are queued.
	f.release(0, 3*233, 0)
	if got, want := acct.Used(), 4*model.Cost(1); got != want {
		t.Errorf("after 3 of 10 still queued, %d B charged, want %d", got, want)
	}
	f.release(0, 3*225, 0)
	if got, want := acct.Used(), 3*model.Cost(1); got != want {
		t.Errorf("at the lower bound, %d B charged, want %d", got, want)
	}
	f.release(0, 0, 1) // one pushed since the queue was read
	if got, want := acct.Used(), model.Cost(1); got != want {
		t.Errorf("with one pushed since, %d B charged, want %d", got, want)
	}
}

func TestReleaseByChunksThenQueue(t *testing.T) {
	f, acct := newTestInflight(t)
	for _, size := range []int{2500, 10, 10, 10} { // 3 chunks, then 1 each
		acct.TryCharge(int64(size))
		f.push(int64(size), size)
	}
	f.release(2, 0, 0) // the newest 2 chunks are unacknowledged
	if got := acct.Used(); got != 20 {
		t.Errorf("%d B charged, want the 2 newest (20)", got)
	}
}

// The window a local receiver offers shrinks by the payload it holds unread.
func TestHeldByPayload(t *testing.T) {
	f, _ := newTestInflight(t)
	for _, size := range []int{100, 200, 300, 400} {
		f.push(int64(size), size)
	}
	for _, tt := range []struct {
		pending int
		unread  int64
		want    int
	}{
		{0, 0, 0},
		{0, 400, 1},
		{0, 401, 2},
		{0, 1000, 4},
		{1, 300, 2}, // the newest not yet sent, then 300 B before it
		{0, 5000, 4},
	} {
		if got := f.held(tt.pending, tt.unread, true); got != tt.want {
			t.Errorf("held(%d chunks, %d B) = %d, want %d", tt.pending, tt.unread, got, tt.want)
		}
	}
}
