package proxy

import "sync"

// scratchSize is the read buffer a pipe borrows while its source has data. Messages
// larger than this grow the buffer up to the relay's max_message for that read only.
const scratchSize = 64 << 10

// scratch lends read buffers to pipes while they have work. An idle pipe holds none,
// so ten thousand quiet associations cost no buffer memory.
var scratch = sync.Pool{New: func() any { b := make([]byte, scratchSize); return &b }}

func getScratch() *[]byte { return scratch.Get().(*[]byte) }

// putScratch returns a buffer; one grown past scratchSize for a large message is dropped
// for the collector so that the pool keeps only ordinary buffers.
func putScratch(b *[]byte) {
	if cap(*b) != scratchSize {
		return
	}
	scratch.Put(b)
}
