package gate

// ledger remembers the messages written toward a consumer that the host may still
// hold, oldest first, with the charge of each: a ring that the gate releases from
// its head. It is guarded by its Gate's mutex.
type ledger struct {
	entries []entry // ring, oldest at head; nil while empty
	head, n int
	sent    uint64 // entries ever pushed: the mark a reading is taken against
	cost    int64  // sum of the entries' costs
	payload int64  // sum of the entries' payloads
}

// entry is one message written toward the consumer.
type entry struct {
	cost    int64 // charged to the account, released when the entry is
	payload int32
	chunks  int32 // DATA chunks at the fragmentation point the gate knew
}

// ringKeep is the ring size a ledger keeps however little it holds; a larger
// one, grown for a burst, shrinks as the burst is released (see shrink) and is
// dropped when the ledger empties, so memory follows what is held.
const ringKeep = 64

func (l *ledger) push(e entry) {
	if l.n == len(l.entries) {
		l.grow()
	}
	l.entries[(l.head+l.n)%len(l.entries)] = e
	l.n++
	l.sent++
	l.cost += e.cost
	l.payload += int64(e.payload)
}

func (l *ledger) grow() { l.resize(max(16, 2*len(l.entries))) }

// resize moves the entries, oldest first, into a new ring of size slots.
func (l *ledger) resize(size int) {
	e := make([]entry, size)
	for i := 0; i < l.n; i++ {
		e[i] = l.entries[(l.head+i)%len(l.entries)]
	}
	l.entries, l.head = e, 0
}

// newest returns the i-th newest entry (0: the last pushed).
func (l *ledger) newest(i int) entry {
	return l.entries[(l.head+l.n-1-i)%len(l.entries)]
}

// releaseBeyond drops every entry but the newest keep and returns the cost
// dropped.
func (l *ledger) releaseBeyond(keep int) (freed int64) {
	for l.n > keep {
		e := l.entries[l.head]
		l.head = (l.head + 1) % len(l.entries)
		l.n--
		l.cost -= e.cost
		l.payload -= int64(e.payload)
		freed += e.cost
	}
	l.shrink()
	return freed
}

// shrink keeps the ring within four times what it holds, or ringKeep: once it
// holds a quarter of its slots or fewer, it moves into a ring twice what it
// holds (none when empty). Between a quarter and all of its slots it is left
// alone, so traffic that holds a steady number of messages reallocates
// nothing, and a move copies no more entries than were released since the
// ring last changed size: O(1) per release, amortized.
func (l *ledger) shrink() {
	if l.n == 0 {
		l.head = 0
	}
	if len(l.entries) <= ringKeep || 4*l.n > len(l.entries) {
		return
	}
	if l.n == 0 {
		l.entries = nil
		return
	}
	l.resize(max(ringKeep, 2*l.n))
}

// cover counts the newest entries, from the skip-th newest on, that make up n
// bytes when each entry counts its payload plus perChunk bytes per chunk, and
// returns skip plus that count. A reading of n bytes held is mapped onto the
// newest messages this way: perChunk must be at most what the kernel counts per
// chunk, so that the count comes out high, never low.
func (l *ledger) cover(skip int, n int64, perChunk int64) int {
	i := skip
	for ; i < l.n && n > 0; i++ {
		e := l.newest(i)
		n -= int64(e.payload) + perChunk*int64(e.chunks)
	}
	return i
}
