package sctpsock

// Assembler puts together, per association, the messages that Many.TryReadPiece
// returns in pieces. On a one-to-many socket with fragment interleave, the pieces
// of one association's message may have pieces and whole messages of other
// associations between them; each association has at most one message under way
// (Linux delivers one message of an association at a time), so the Assembler
// holds at most one partial message per association, each within Limit.
//
// It is pure bookkeeping: it reads nothing, and is not safe for concurrent use.
// The zero value is ready, with Limit DefaultMaxMessage.
type Assembler struct {
	// Limit is the largest message assembled; a message going over it yields a
	// *TooLargeError once, and its later pieces are dropped. If zero, 256 KiB.
	Limit int

	parts map[int32]*part
}

// part is one association's message under way.
type part struct {
	first Msg    // the first piece's stream, PPID, flags
	data  []byte // the pieces so far
	over  bool   // went over Limit: pieces are dropped up to the last
}

func (a *Assembler) limit() int {
	if a.Limit <= 0 {
		return DefaultMaxMessage
	}
	return a.Limit
}

// Add takes the next piece read, p. Once p ends a message (p.More is false) it
// returns the whole message and true: p itself when it is the whole message
// (Data then aliases p.Data), else a message whose Data the Assembler allocated
// and no longer holds. A notification is returned as it is. A piece taking its
// message over Limit yields a *TooLargeError with the association's id; the
// message is dropped, and its later pieces with it.
func (a *Assembler) Add(p Msg) (Msg, bool, error) {
	if p.Notification != nil {
		return p, true, nil
	}
	pt := a.parts[p.AssocID]
	if pt == nil && !p.More {
		if len(p.Data) > a.limit() {
			return Msg{}, false, &TooLargeError{Read: len(p.Data), Limit: a.limit(), AssocID: p.AssocID}
		}
		return p, true, nil
	}
	if pt == nil {
		pt = &part{first: p}
		if a.parts == nil {
			a.parts = make(map[int32]*part)
		}
		a.parts[p.AssocID] = pt
	}
	return a.append(pt, p)
}

// append adds p to the message under way pt.
func (a *Assembler) append(pt *part, p Msg) (Msg, bool, error) {
	var err error
	switch {
	case pt.over:
	case len(pt.data)+len(p.Data) > a.limit():
		err = &TooLargeError{Read: len(pt.data) + len(p.Data), Limit: a.limit(), AssocID: p.AssocID}
		pt.over, pt.data = true, nil
	default:
		pt.data = grow(pt.data, len(p.Data), a.limit())
		pt.data = append(pt.data, p.Data...)
	}
	if p.More {
		return Msg{}, false, err
	}
	delete(a.parts, p.AssocID)
	if pt.over {
		return Msg{}, false, err
	}
	m := pt.first
	m.Data, m.More = pt.data, false
	return m, true, nil
}

// grow makes room for n more bytes in b, doubling its capacity but never past
// limit, so that a message under way holds at most about twice what it has.
func grow(b []byte, n, limit int) []byte {
	if len(b)+n <= cap(b) {
		return b
	}
	nb := make([]byte, len(b), min(max(2*cap(b), len(b)+n), limit))
	copy(nb, b)
	return nb
}

// Held is the memory, in bytes, that association id's message under way takes
// in the Assembler: the capacity of its buffer, at most about twice what it has
// read and never over Limit (0 if none, or if the message went over Limit).
func (a *Assembler) Held(id int32) int {
	if pt := a.parts[id]; pt != nil {
		return cap(pt.data)
	}
	return 0
}

// Under reports whether association id has a message under way: its next data
// piece continues it.
func (a *Assembler) Under(id int32) bool { return a.parts[id] != nil }

// Drop forgets association id's message under way, if any, and returns how many
// bytes it held (as Held): its sender ended it before its last piece (a partial
// delivery aborted), or the association is gone.
func (a *Assembler) Drop(id int32) int {
	pt := a.parts[id]
	if pt == nil {
		return 0
	}
	delete(a.parts, id)
	return cap(pt.data)
}

// Pending is how many associations have a message under way.
func (a *Assembler) Pending() int { return len(a.parts) }
