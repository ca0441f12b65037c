package proxy

import "time"

// The relay's tunables, each with why it has its value. The gate's own are in
// gate/tunables.go; the kernel facts behind these were read in Linux 6.1's
// net/sctp and measured in the test VM.

// Reading and holding messages.
const (
	// scratchSize is the read buffer a pipe borrows while its source has data:
	// 64 KiB is more than signalling messages (Diameter, M3UA, S1AP) usually
	// are, so they never grow it, and little enough for one pooled buffer per
	// busy pipe. A larger message grows the buffer up to the relay's
	// max_message for that read only, and the grown buffer is not pooled.
	scratchSize = 64 << 10

	// backlogPerMsg is what holding one message costs the backlog beyond its
	// payload: its 16-byte record and the slack of growing slices, so that the
	// backlog's size, which is bounded by a quarter of the account, errs high.
	backlogPerMsg = 32

	// readAheadFrom is the least src must have queued, as the kernel counts it,
	// for readAhead to read it: a queue of a few messages (about 16 KiB of
	// 1-byte ones at RecvQueuedPerChunk each is ~70) is left alone, since
	// reading it would reopen the window srcBuffer just closed (see readAhead).
	readAheadFrom = 16 << 10

	// queueKeep is the most slots of a shared leg's queue that are kept however
	// little it holds: 64 slots (a few KiB) serve a pipe that keeps up without
	// reallocating, while a burst's larger array shrinks as the queue drains.
	queueKeep = 64
)

// Waiting for quota.
const (
	// freezeAfter is how long a charge waits before the pipe moves its source's
	// queue into the backlog and holds it there (readAhead, srcBuffer): a quota
	// full for a moment, while a reading receiver catches up, must not close the
	// producer's window, which makes it lose what it has in flight and wait for
	// its retransmission timer (1 s at first); 100 ms is short against that
	// timer. Once held, the queue stays held until the account is half empty,
	// however many charges wait in between, for the same reason, or until the
	// pipe finds src empty (see srcBuffer).
	freezeAfter = 100 * time.Millisecond

	// Bounds of the step a waiting charge rechecks its source at (aborted,
	// frozen, probe due, stalled): the gate's observer releases charges
	// whenever the kernel lets go, and a release wakes the charge at once, so
	// the step only paces those checks. A pipe stalled less than
	// waitStepLongAfter (a slow consumer, which releases something every few
	// milliseconds) rechecks at most waitStepMax apart; one stalled longer
	// backs off to waitStepLong. The step is kept across the waits that probes
	// end, and a wait ends early when the gate's next probe is due. Each check
	// costs two getsockopt calls, a timer and a wake-up: a thousand long-stalled
	// associations make ~1,000 checks a second (at 32 ms they made 30,000; at
	// 500 ms, 2,000, which a CPU profile put at 40% of the relay's time with
	// every sender blocked). What the step delays is noticing that a stalled
	// association ended (its producer aborted, its consumer went) and
	// stall_timeout, both by at most 2 s.
	waitStepFirst     = 2 * time.Millisecond
	waitStepMax       = 32 * time.Millisecond
	waitStepLong      = 2 * time.Second
	waitStepLongAfter = time.Second

	// roomRecheck is how long a shared socket's reader waits for room before it
	// looks again: the budget also frees when the gates release the pipes'
	// charges, which does not signal room. 10 ms keeps a stalled reader at 100
	// wake-ups a second, one per relay, while every association on the socket
	// waits at most that long past the release that makes room.
	roomRecheck = 10 * time.Millisecond
)

// Accepting and connecting.
const (
	// maxDialing bounds a relay's upstream connects in progress. A burst of
	// accepted associations would otherwise start as many connects at once,
	// each polling its state, and starve one another past connect_timeout. 64
	// in progress are more than a relay to one peer needs to keep its round
	// trips busy; max_connecting bounds how many wait for a slot.
	maxDialing = 64

	// acceptQueue is how many associations a shared socket's reader may hand
	// on before the accept loop takes them: the reader stops for nothing else
	// meanwhile, so a burst of COMM_UPs must not stall it; the accept loop only
	// starts a goroutine per association, so the queue rarely holds more than a
	// few.
	acceptQueue = 64

	// acceptRetry is how long the accept loop waits after a failed accept
	// (such as EMFILE) before it tries again: long enough not to spin on an
	// error that stays, short enough that associations arriving once it
	// clears wait far less than their own INIT retransmission (1 s) would.
	acceptRetry = 50 * time.Millisecond

	// maxReadFailures is how many reads of a shared socket in a row may fail
	// before the socket is given up: an error that stays (reading cannot
	// resume in the middle of a message) repeats at once, while a malformed
	// notification is one read; three tell the two apart.
	maxReadFailures = 3
)

// Ending an association.
const (
	// flushWait bounds how long an association that sctpguard aborts (a
	// message too large, on a missing stream) waits for the peer to
	// acknowledge what was relayed before, since ABORT discards it: 2 s covers
	// a retransmission at Linux's minimum RTO (1 s), and an abort must not wait
	// long on a peer that does not answer.
	flushWait = 2 * time.Second
	// flushPoll is how often flush asks the gate: acknowledgements arrive
	// within a round trip, a few milliseconds on a LAN.
	flushPoll = 5 * time.Millisecond
	// heldBackRecent is how long after a pipe stopped holding its producer
	// back (a charge waited, its receive buffer was frozen) that producer is
	// presumed to still have messages on their way, so that a SHUTDOWN from
	// the other side aborts it instead of ending it cleanly (see
	// holdsUnwritten): 3 s covers two retransmissions from Linux's minimum RTO
	// of 1 s, since the chunks a frozen buffer dropped come back only then.
	heldBackRecent = 3 * time.Second
)
