package quota

import "math/bits"

// Defaults used where a CostModel field is zero. Linux 6.1 (Debian 12) was
// measured by `sctpguard calibrate` to hold a DATA chunk of n payload bytes in
// a buffer of n+~542 bytes rounded up to a power of two, plus ~767 bytes of
// fixed structures: ~1.8 KB for a 1-byte message, ~33.5 KB for 16 KiB. The
// defaults round both up, so that they overcharge rather than undercharge a
// kernel that differs a little.
const (
	DefaultHeader   = 576
	DefaultOverhead = 1024
)

// The fragmentation points Worst tries. The kernel splits a message into DATA
// chunks of at most its association's fragmentation point: the path MTU less
// the IP header (20 bytes for IPv4, 40 for IPv6), the SCTP common header (12)
// and the DATA chunk header (16), rounded down to a multiple of FragmentStep
// (SCTP_TRUNC4 in sctp_assoc_update_frag_point).
const (
	// MinFragment is the least: an IPv6 minimum MTU of 1280 bytes over IPv6.
	MinFragment = 1280 - 40 - 12 - 16
	// MaxFragment is the most: the loopback MTU of 65536 bytes over IPv4.
	MaxFragment = 65536 - 20 - 12 - 16
	// FragmentStep divides every fragmentation point.
	FragmentStep = 4
)

// CostModel converts a message's payload length into its true cost: the
// memory the host spends holding it in kernel queues. The kernel splits a
// message into DATA chunks of at most the association's fragmentation point
// and keeps each chunk in its own buffer, whose size it rounds up to a power
// of two, plus fixed per-chunk structures:
//
//	chunk cost = pow2ceil(chunk payload + Header) + Overhead
//
// and a message costs the sum over its chunks. A message split into several
// chunks costs one buffer of its first chunk more: Linux 6.1 was measured to
// hold a 64 KiB message sent over loopback (two chunks) at ~264 KB, twice its
// chunks, when it is reassembled for a receiver. Both fields are measured by
// `sctpguard calibrate`.
type CostModel struct {
	// Header is what the kernel adds to a chunk's payload before rounding the
	// buffer up to a power of two, in bytes. If zero, DefaultHeader; if
	// negative, buffers are not rounded (the cost is payload plus Overhead per
	// chunk), for kernels whose cost grows linearly.
	Header int64
	// Overhead is the kernel's memory per chunk beyond its buffer, in bytes.
	// If zero or negative, DefaultOverhead.
	Overhead int64
}

// header returns the Header in use; -1 means no rounding.
func (m CostModel) header() int64 {
	switch {
	case m.Header < 0:
		return -1
	case m.Header == 0:
		return DefaultHeader
	}
	return m.Header
}

// PerChunk returns the fixed overhead charged for every chunk.
func (m CostModel) PerChunk() int64 {
	if m.Overhead <= 0 {
		return DefaultOverhead
	}
	return m.Overhead
}

// chunk is the cost of one chunk carrying n payload bytes.
func (m CostModel) chunk(n int64) int64 {
	h := m.header()
	if h < 0 {
		return n + m.PerChunk()
	}
	return pow2ceil(n+h) + m.PerChunk()
}

// Cost returns the true cost of a message with a payload of the given length
// kept whole, in one chunk. A negative length counts as zero.
func (m CostModel) Cost(payload int) int64 {
	return m.chunk(int64(max(payload, 0)))
}

// Chunked returns the true cost of a message split into chunks of at most frag
// payload bytes (the association's fragmentation point), with the extra buffer
// of reassembly (see CostModel); frag ≤ 0 keeps it whole. An empty message still
// takes one chunk.
func (m CostModel) Chunked(payload, frag int) int64 {
	n := int64(max(payload, 0))
	if frag <= 0 || n <= int64(frag) {
		return m.chunk(n)
	}
	f := int64(frag)
	full, rest := n/f, n%f
	cost := full*m.chunk(f) + m.chunk(f) - m.PerChunk() // the reassembly buffer
	if rest > 0 {
		cost += m.chunk(rest)
	}
	return cost
}

// Worst returns the most a message of the given payload can cost, whatever
// path MTU its association ends up with: kept whole, or split at any
// fragmentation point from MinFragment to MaxFragment (every FragmentStep
// bytes). A quota must hold at least this for the largest message. See
// WorstSplit; it takes about 0.1 ms.
func (m CostModel) Worst(payload int) int64 {
	cost, _ := m.WorstSplit(payload)
	return cost
}

// WorstSplit returns Worst and the fragmentation point that costs it, zero when
// the message costs most kept whole. The cost does not fall or rise steadily
// with the fragmentation point: fewer, larger chunks can each round up to a
// buffer twice as large, and the reassembly buffer is one of the first chunk.
// A 64 KiB message costs 169,984 bytes by the defaults in chunks of
// MinFragment, but 266,240 in chunks of 64,964: a first chunk in a 128 KiB
// buffer, a reassembly buffer as large, and the rest of 572 bytes in 2 KiB.
// So every point is tried.
func (m CostModel) WorstSplit(payload int) (cost int64, frag int) {
	cost = m.Cost(payload)
	for f := MinFragment; f <= MaxFragment && f < payload; f += FragmentStep {
		if c := m.Chunked(payload, f); c > cost {
			cost, frag = c, f
		}
	}
	return cost, frag
}

// pow2ceil returns the least power of two ≥ n, for n ≥ 1.
func pow2ceil(n int64) int64 {
	if n <= 1 {
		return 1
	}
	return 1 << bits.Len64(uint64(n-1))
}
