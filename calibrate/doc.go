// Package calibrate measures what one SCTP message really costs the host on
// the running kernel and fits sctpguard's cost model to it (quota.CostModel,
// config's cost block), so that quotas charge every message its true cost:
// per DATA chunk of n payload bytes
//
//	pow2ceil(n + header) + overhead
//
// `sctpguard calibrate` runs it and prints the block for the configuration.
//
// Typical use:
//
//	rep, err := calibrate.Run(ctx, calibrate.Options{Progress: log.Printf})
//	if err != nil { ... } // no SCTP, too little memory, or too noisy
//	fmt.Println(rep.Block) // the cost block: header and overhead
//
// # Method
//
// For each payload size, in rounds, Run opens a loopback association whose
// receiver never reads, gives the receiver a receive buffer as large as the
// round's memory budget, and sends messages with SCTP_NODELAY until the
// message cap, until a write waits longer than Options.Stall (the kernel takes
// no more), or until the host has lost the budget. It waits for memory to hold
// still, reads how much the host lost since the association was opened, and
// aborts both ends. Host memory used divided by the messages queued is the
// cost per message; the median of the rounds counts.
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
// The kernel keeps each DATA chunk in a buffer of its payload plus a header,
// rounded up to a power of two, so the cost rises in steps: on Linux 6.1
// over loopback ~1.8 KB per message up to ~480 bytes of payload, ~2.8 KB up
// to ~1.5 KB, ~4.8 KB for 2 KiB, ~33.5 KB for 16 KiB. Where a step falls
// pins the header. Between every two adjacent measured sizes whose costs
// differ by a step, Run bisects (one round per probe, lowest payloads
// first, at most maxProbes in all) until it has located each step to
// Options.Resolution bytes; steps left when the probes run out, or between
// rounds too short to tell a step from noise, are only bounded by the
// payloads around them.
//
// # The fit
//
// Fit tries every header from 1 B to MaxFitHeader. For each, the overhead is
// the most that any measured point held beyond the model's buffers, per
// chunk, so the model never charges a measured point less than it held:
// every size, the cheaper side of every step, and the dearer side of every
// located step counted from the cheaper side's payload plus one (the least
// payload that may pay it). The header whose model overcharges the points
// least, relative to what each held, wins; on a tie the larger, which puts
// the doubling earlier. The overhead is rounded up to Granularity.
//
// Messages larger than the fragmentation point (65,484 B over lo on Linux
// 6.1, read from the association) are sent in several chunks, and the model
// charges each chunk (quota.CostModel.Chunked). The fit leaves them out:
// Linux 6.1 holds a 64 KiB message in ~264 KB, about one more buffer of its
// first chunk than its two chunks' ~134 KB, which no header or per-chunk
// overhead can follow without overcharging every smaller message many
// times. The report measures them and notes how much the model
// undercharges them.
//
// The report shows, per size, what the fitted model charges next to what
// was measured; a note flags any size charged more than twice what it held.
// Payloads between the points measured are charged by the model alone: a
// step that was not located leaves the header bounded only by the sizes
// around it, and the fit then takes the largest header they allow, which
// overcharges rather than undercharges.
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
//   - It measures one fragmentation point, loopback's. An association
//     with a smaller path MTU splits messages into more chunks; the cost
//     model charges those too, since each chunk pays the overhead.
package calibrate
