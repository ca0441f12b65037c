// Package calibrate measures what one SCTP message really costs the host on
// the running kernel, so that sctpguard's quotas can charge every message its
// true cost: payload plus a per-message overhead (config's cost.overhead).
// `sctpguard calibrate` runs it and prints the configuration line.
//
// Typical use:
//
//	rep, err := calibrate.Run(ctx, calibrate.Options{Progress: log.Printf})
//	if err != nil { ... } // no SCTP, too little memory, or too noisy
//	fmt.Println(rep.ConfigLine) // cost { overhead = "2368B" }
//
// # Method
//
// For each payload size, in rounds, Run opens a loopback association whose
// receiver never reads, gives the receiver a receive buffer as large as the
// round's memory budget, and sends messages with SCTP_NODELAY until the
// message cap, until a write waits longer than Options.Stall (the kernel takes
// no more), or until the host has lost the budget. It waits for memory to hold
// still, reads how much the host lost since the association was opened, and
// aborts both ends. Host memory used, less the payload, divided by the messages
// queued, is the overhead per message; the median of the rounds counts.
//
// Host memory is MemAvailable from /proc/meminfo plus the free pages parked
// on per-CPU lists (the pagesets' "count" in /proc/zoneinfo), less the growth
// of this process's own anonymous memory. MemAvailable alone will not do: on
// Linux 6.1 each CPU keeps up to tens of MB of freed pages (6,985 pages per
// CPU in a 2 GiB VM) that it does not count, so the pages an aborted round
// frees vanish from it and the next round's allocations come out of them
// unseen; the same 9 MiB of slab read as anything from 0.5 to 10 MiB. With
// the per-CPU pages added back, readings follow the slab within 1%.
//
// The kernel allocates a message's buffers in power-of-two sizes, so the cost
// rises in steps: on Linux 6.1 over loopback, ~1.8 KB per message up to ~475
// bytes of payload, ~2.8 KB up to ~1.5 KB, ~33 KB for 16 KiB. The overhead is
// largest just above a step. Between two measured sizes below SmallPayload
// whose costs differ by a step, Run bisects (one round per probe) until it
// has located the step to Options.Resolution bytes, and counts the cost above
// it against the smallest payload that might pay it.
//
// The recommendation is the largest overhead over sizes up to SmallPayload and
// the steps among them, rounded up to Granularity. Sizes above SmallPayload are
// reported; where they hold more than the recommendation (proportionally, the
// power-of-two rounding costs up to the payload again), a note says by how much
// the cost model undercharges them.
//
// For comparison the report shows what the kernel's own socket accounting
// claimed for the same messages, through sock_diag (package diag): the
// receiver's receive allocation plus the sender's queued send memory, or,
// without sctp_diag, RX_QUEUE from /proc/net/sctp/assocs. It is the truesize
// the kernel charges against the socket buffers, ~230 bytes for a 1-byte
// message that holds ~1.8 KB: about 1/8.
//
// # Limits
//
//   - It measures loopback. Messages arriving from a network card sit in
//     buffers the driver sized, often a page or more per packet, and can cost
//     more; calibrate with the largest overhead the host's paths may need.
//   - Other activity on the host moves the readings. Run it on a quiet host;
//     the medians, the settling before each reading and Options.DropCaches
//     help, and Notes flag rounds that did not settle or whose memory did not
//     come back.
//   - It takes up to Options.MaxMem per round, never more than MaxShare of
//     MemAvailable, and gives it back between rounds.
//   - Without CAP_NET_ADMIN the receive buffer is capped at
//     net.core.rmem_max, so rounds stop early ("blocked") with fewer messages
//     and noisier results; run it as root.
//   - The cost model is payload plus a fixed overhead. It cannot follow the
//     power-of-two steps above SmallPayload; see the notes for how far
//     larger messages are undercharged.
package calibrate
