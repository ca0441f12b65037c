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

// MinFragment is the least payload one DATA chunk carries when a message is
// split: an IPv6 minimum MTU of 1280 bytes less the IPv6, SCTP common and DATA
// chunk headers. Worst uses it as the most expensive split.
const MinFragment = 1280 - 40 - 12 - 16

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

// Worst returns the most a message of the given payload can cost: whole, or
// split into chunks of MinFragment. A quota must hold at least this for the
// largest message, whatever path MTU its association ends up with.
func (m CostModel) Worst(payload int) int64 {
	return max(m.Cost(payload), m.Chunked(payload, MinFragment))
}

// pow2ceil returns the least power of two ≥ n, for n ≥ 1.
func pow2ceil(n int64) int64 {
	if n <= 1 {
		return 1
	}
	return 1 << bits.Len64(uint64(n-1))
}
