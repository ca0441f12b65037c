// Package gate is the consumer gate: it decides when the charge of a relayed
// message is released, so that what the host holds for an association stays
// within its quota wherever the consumer is — in sctpguard's network namespace,
// in another one (a container, over a veth) or on another host.
//
// A pipe charges a message's true cost before it reads the next one (package
// quota) and, once it has written it toward the consumer, hands it to the
// consumer's Gate (Sent). The charge stays held while the message may still be
// held on its way:
//
//   - in this host's kernel, unsent or unacknowledged: the association's send
//     queue as the kernel counts it (Sample.SendQueued: sndbuf_used), never
//     SCTP_STATUS's penddata, which counts gaps in what the peer sent us, nor
//     unackdata, which counts only what was transmitted and wraps at 65,535;
//   - in the consumer's receive queue, unread. Where the consumer's socket is
//     visible (same namespace), its queue is read (RX_QUEUE in
//     /proc/net/sctp/assocs). Everywhere else its receive window is: Linux
//     shrinks the window by exactly the payload queued unread, every SACK
//     carries it, so the window it offered with nothing unread less the window
//     as this host's kernel knows it now is the payload it holds, unread or not
//     yet acknowledged.
//
// Each reading, a number of bytes, is mapped onto the newest messages written
// (those the consumer got last): the newest messages that make up the send
// queue, counted at their payload and a lower bound of the kernel's buffers per
// chunk, then, older than those, the newest that make up the consumer's unread
// payload. Every other message is released. Lower bounds make the count of
// messages kept come out high: a charge is kept too long, never released early.
//
// # One observer
//
// An Observer samples every gate of the process from one goroutine: SCTP_STATUS
// and the send queue of each gate that is due, and the receive-queue table at
// most once per round for all of them. A gate whose charge begins to wait is due
// within a millisecond, then less and less often while nothing moves (up to
// waitMax, 250 ms; up to waitMaxSlow, 1 s, once its probes are past their fast
// rate, when only a window the consumer announces by itself can be seen between
// two probes). A wait that a probe ended and that resumes keeps the backoff; the
// probe's answer is read once, probeEcho after it. A gate with charges but no
// waiting charge is due every idleFirst..idleMax; a gate that holds nothing is
// not sampled. Its cost is proportional to the associations
// that hold charges, not to their square.
//
// # Stale windows
//
// Linux announces a reopened window by itself only once it grew by
// max(rcvbuf/16, PMTU). With a small quota and small messages the consumer can
// read everything it holds and never say so. So when a charge has waited
// probeFirst with nothing released, the waiting message is sent anyway, as a
// probe, charged beyond the quota (quota.Account.Overdraw) and with the I bit
// (SCTP_SACK_IMMEDIATELY), so the consumer acknowledges it at once with its
// current window. While nothing moves the probe interval doubles, up to
// probeFastMax (500 ms) while the overdraft is within an eighth of the quota
// and what all associations overdraw together is within an eighth of each
// shared level's quota (the socket's, the host's), without a cap beyond; any
// release resets it.
//
// Worst case under a permanent stall: the association holds its quota, plus an
// eighth of it in probes (at most one probe every 500 ms until then), plus one
// message per doubling of the stall's length after that: for a 1 MiB quota of
// 1-byte messages, 1 MiB + 128 KiB after ~35 s, and about 20 messages (~40 KB)
// more after a day. A consumer that resumes reading while the overdraft is
// below an eighth of the quota is seen within 500 ms; later, within the current
// probe interval (half the stall's length at most). TestPermanentStall
// measures it against this bound.
//
// Many associations that a shared level limits before their own quotas (1,000
// under a 160 MiB global quota hold ~160 KiB each) overdraw at the fast rate only
// until they hold an eighth of that level together, then one message each per
// doubling: for N associations, level/8 + N × (log2(stall / 500 ms) + 2)
// messages. TestSharedStallBound measures it (100 associations under 4 MiB: 2.0
// MB after a minute, 3.2 MB after an hour); without the shared share they
// would overdraw 2 messages a second each, without end.
//
// # Non-Linux consumers
//
// A consumer whose window does not shrink with its queue (one that copies
// messages out of the kernel into memory of its own, as user-space SCTP stacks
// do) makes the gate release a message once it is acknowledged: its queue is
// then its own memory, not this host's kernel's. `sctpguard status --json`
// shows per direction what the gate reads (gate_source "queue" or "window"),
// the payload it believes unread, and the probes sent; an operator who sees
// "window" with unread 0 and charges released as fast as they are acknowledged
// for a consumer on this host is looking at such a peer.
//
// # Typical use
//
//	obs := gate.NewObserver()
//	go obs.Run(ctx)                                       // gate-observer
//	g := obs.Open(acct, src, status.FragmentationPoint, receiver)
//	// per message: charge, write, then
//	g.Sent(cost, len(payload))
//	// when the charge does not fit: g.Wait(); ... ProbeDue ... g.Resume()
package gate
