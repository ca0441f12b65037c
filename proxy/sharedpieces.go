package proxy

import (
	"sync"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// sharedPieces holds the messages of a shared socket's associations that are
// still arriving in pieces, one at most per association, each within
// max_message (sctpsock.Assembler), with what each was charged on the shared
// socket's account. The reader adds pieces; a leg that closes drops its message
// from its own goroutine, hence the lock.
type sharedPieces struct {
	mu      sync.Mutex
	asm     sctpsock.Assembler
	charged map[int32]int64 // bytes charged for each association's message under way
}

// added is what adding one piece did.
type added struct {
	msg   sctpsock.Msg // the whole message, if done
	done  bool
	err   error // a *sctpsock.TooLargeError: the message was dropped
	grew  int64 // bytes the message under way grew by, not yet charged (see charge)
	freed int64 // bytes charged that the message under way no longer holds
}

// add adds p to its association's message under way.
func (ps *sharedPieces) add(p sctpsock.Msg) added {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	id := p.AssocID
	before := ps.asm.Held(id)
	var a added
	a.msg, a.done, a.err = ps.asm.Add(p)
	if after := ps.asm.Held(id); after > before {
		a.grew = int64(after - before)
	} else if after == 0 {
		a.freed = ps.charged[id]
		delete(ps.charged, id)
	}
	return a
}

// charge records n bytes charged for association id's message under way; false
// if it is gone meanwhile (dropped), and n must be released.
func (ps *sharedPieces) charge(id int32, n int64) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.asm.Held(id) == 0 {
		return false
	}
	if ps.charged == nil {
		ps.charged = make(map[int32]int64)
	}
	ps.charged[id] += n
	return true
}

// drop forgets association id's message under way; it returns the bytes that
// were charged for it, and whether there was one.
func (ps *sharedPieces) drop(id int32) (int64, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	under := ps.asm.Under(id)
	ps.asm.Drop(id)
	freed := ps.charged[id]
	delete(ps.charged, id)
	return freed, under
}

// held is the bytes charged for association id's message under way.
func (ps *sharedPieces) held(id int32) int64 {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.charged[id]
}
