package gate

import (
	"time"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// The gate's tunables, each with why it has its value. The kernel facts behind
// them were read in Linux 6.1's net/sctp and measured in the test VM.
const (
	// waitFirst is how soon a gate whose charge waits is sampled again after a
	// sample freed something: acknowledgements arrive within a round trip, and a
	// pipe whose quota is full relays nothing until its charges are released.
	waitFirst = time.Millisecond
	// waitMax is how rarely a gate whose charge waits is sampled while nothing
	// moves. A consumer that announces its window by itself is seen within it;
	// a thousand stalled associations cost ~4,000 samples a second.
	waitMax = 250 * time.Millisecond
	// waitMaxSlow replaces waitMax once the gate's probes are past their fast
	// rate (see ProbeDue): a consumer that resumes is then seen at the next
	// probe, seconds apart, and a sample between two probes can only find a
	// window the consumer announced by itself. A thousand long-stalled
	// associations cost ~1,000 samples a second.
	waitMaxSlow = time.Second

	// idleFirst and idleMax bound how often a gate that holds charges but has no
	// charge waiting is sampled: its charges only matter to the shared budgets.
	idleFirst = 20 * time.Millisecond
	idleMax   = time.Second

	// roundEvery is the least time between two rounds of the observer, so that
	// the receive-queue table (a line per association of the namespace) is read
	// at most a thousand times a second however many gates fall due.
	roundEvery = time.Millisecond

	// probeFirst is how long a charge waits with nothing released before the
	// waiting message goes as a probe. Linux announces a reopened window only
	// once it grew by max(rcvbuf>>4, PMTU) (sctp_peer_needs_update); a consumer
	// that read everything a small quota admits may never announce it, but
	// every SACK carries its current window, and a DATA chunk sent with the I
	// bit (SCTP_SACK_IMMEDIATELY) is acknowledged at once.
	probeFirst = 20 * time.Millisecond
	// probeFastMax caps the probe interval while the overdraft is within
	// 1/overdraftShare of the quota: a consumer that resumes reading is seen
	// within it, so a stale window never holds a backlog for longer.
	probeFastMax = 500 * time.Millisecond
	// overdraftShare: beyond limit/overdraftShare of overdraft the probe
	// interval keeps doubling without a cap, so a permanent stall adds one
	// message per doubling of its length (see the package doc).
	overdraftShare = 8
	// probeEcho is how soon after a probe the gate is sampled, once, out of
	// its backoff: the SACK it asks for takes a round trip. A slower answer is
	// read at the next sample of the backoff.
	probeEcho = 2 * time.Millisecond

	// sendCountedPerChunk is a lower bound of what Linux counts in the send
	// buffer per DATA chunk beyond its payload (sctp_set_owner_w: the sk_buff's
	// truesize and the struct sctp_chunk). On 6.1 x86-64 the truesize alone is
	// at least the 16-byte DATA header, the 320 bytes of skb_shared_info and the
	// 256 of struct sk_buff (both cache-aligned) on top of the payload, 592
	// bytes, before kmalloc rounds the buffer up and the sctp_chunk is added
	// (~1 KB in all for a 100-byte message). A lower bound makes the count of
	// messages still in the send queue come out high, never low; a loose one
	// keeps several times too many, which a busy association pays for in
	// charges it cannot borrow for while others hold the shared budgets.
	sendCountedPerChunk = 576
	// rxCountedPerChunk: see sctpsock.RecvQueuedPerChunk.
	rxCountedPerChunk = sctpsock.RecvQueuedPerChunk

	// defaultFrag is the fragmentation point assumed when the association's is
	// not known: an Ethernet MTU less the IPv4, SCTP and DATA headers.
	defaultFrag = 1452
)
