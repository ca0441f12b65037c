package proxy

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sctpguard/sctpguard/admin"
	"github.com/sctpguard/sctpguard/diag"
	"github.com/sctpguard/sctpguard/quota"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// seqpacket is the one-to-many (SOCK_SEQPACKET) kernel socket a shared socket
// reads and writes: *sctpsock.Many, or a stand-in in unit tests.
type seqpacket interface {
	ReadPiece(buf []byte) (sctpsock.Msg, error)
	WriteMsg(id int32, m sctpsock.Msg) error
	TryWriteMsg(id int32, m sctpsock.Msg) error
	Shutdown(id int32) error
	Abort(id int32) error
	Status(id int32) (sctpsock.Status, error)
	Paths(id int32) ([]sctpsock.PathInfo, error)
	PeerAddrs(id int32) ([]netip.AddrPort, error)
	AssocLocalAddrs(id int32) ([]netip.AddrPort, error)
	SetPathOptions(id int32, p sctpsock.PathOptions) error
	Queued() (recv, send int, err error)
	LocalAddrs() []netip.AddrPort
	StopListening() error
	Close() error
}

// sharedSocket is a relay's one-to-many front socket (listen_style "one_to_many"):
// every front association of the relay on one SOCK_SEQPACKET socket. One goroutine,
// readLoop, reads it and hands each message to its association's sharedLeg, where the
// association's pipe toward upstream takes it.
//
// The associations share one receive queue, read in arrival order, so the reader
// cannot skip the messages of an association whose pipe is not taking them. It holds
// them in that association's leg, within two bounds: a leg's queue within
// quota.association, and the queues, charged to the relay's budget where every pipe's
// charges are too, within quota.socket. When the next message does not fit, the reader
// stops reading the socket, and every association waits, until a leg's pipe takes a
// message or the kernel lets go of enough of what the pipes wrote.
//
// A message that arrives in pieces (partial delivery) is put together in pieces,
// per association, as the pieces come, interleaved with the other associations'
// (the socket has fragment interleave on): the memory it takes is charged to the
// same account as the leg's queue, within the same bounds, as it grows. A sender
// that withholds the rest of a message holds at most max_message there, and no
// other association waits for it; a sender whose message is cut short (partial
// delivery aborted) loses only that message, and its association ends.
type sharedSocket struct {
	sock   seqpacket
	log    hclog.Logger
	cost   func() quota.CostModel
	budget *quota.Budget  // the relay's; its limit is quota.socket
	acct   *quota.Account // charged for what the legs' queues hold, on budget
	assoc  func() int64   // quota.association, as reloads set it

	mu   sync.Mutex
	legs map[int32]*sharedLeg

	pieces sharedPieces // messages under way, per association

	kernelMu sync.Mutex
	kernel   *diag.Conn // per-association send queues; nil until needed or if unavailable
	noDiag   bool       // sock_diag could not be opened: the socket's queue is used

	acceptMu  sync.Mutex // held while a new association is handed on, and to stop that
	accepting bool

	accepts  chan *sharedLeg // new associations, for the relay's accept loop
	noAccept chan struct{}   // closed by stopListening
	room     chan struct{}   // a leg's queue shrank
	closing  chan struct{}
	done     chan struct{} // readLoop ended

	dropped drops        // messages read and not handed to a pipe, by reason
	stalled atomic.Int64 // nanoseconds the reader waited for room
	stalls  atomic.Uint64
}

// newSharedSocket returns the shared socket of a relay whose budget is budget; what
// its legs' queues hold is charged there, on an account of its own.
//
// The account holds every association's queued messages, so it opens with a
// reserve: with none, floods on other relays that borrow the global budget up to
// its headroom would refuse even a 1-byte charge and stall every association of
// the relay, while a reserve is never lent away (see quota's Fairness). It is
// quota.DefaultReserve, what each association direction reserves: enough to go on
// queueing messages of up to about 64 KiB of true cost however full the global
// budget is (the size of a max_message is not known here). On a small quota.socket
// it is an eighth of it (quota.DefaultHeadroomDivisor), so that the relay's
// associations keep the rest. If the reserve cannot be had, newSharedSocket fails
// with an error wrapping quota.ErrExhausted, and the relay does not listen.
func newSharedSocket(sock seqpacket, budget *quota.Budget, log hclog.Logger) (*sharedSocket, error) {
	reserve := int64(quota.DefaultReserve)
	if limit := budget.Limit(); limit > 0 {
		reserve = max(1, min(reserve, limit/quota.DefaultHeadroomDivisor))
	}
	acct, err := budget.Open(0, reserve) // no limit but the budget's
	if err != nil {
		return nil, fmt.Errorf("shared socket: cannot reserve %d bytes of quota for the messages it queues, so it does not listen: %w", reserve, err)
	}
	return &sharedSocket{
		sock: sock, budget: budget, acct: acct, log: log,
		cost:      func() quota.CostModel { return quota.CostModel{} },
		assoc:     func() int64 { return 0 },
		legs:      make(map[int32]*sharedLeg),
		accepting: true,
		accepts:   make(chan *sharedLeg, acceptQueue),
		noAccept:  make(chan struct{}),
		room:      make(chan struct{}, 1),
		closing:   make(chan struct{}),
		done:      make(chan struct{}),
	}, nil
}

// start runs the reader; it ends when the socket is closed.
func (s *sharedSocket) start() { go s.readLoop() } // shared-reader: owned by the relay, ends when close closes the socket

// readLoop reads the socket and dispatches every message until the socket is closed.
func (s *sharedSocket) readLoop() {
	defer close(s.done)
	buf := make([]byte, scratchSize)
	failed := 0
	for {
		p, err := s.sock.ReadPiece(buf)
		switch {
		case errors.Is(err, net.ErrClosed):
			return
		case err != nil && failed < maxReadFailures:
			// Such as a malformed notification, read and dropped: the next
			// message is read as usual.
			failed++
			s.dropped.add(admin.DropReadError, 1)
			s.log.Warn("shared socket: read failed; dropped what was read", "error", err)
			continue
		case err != nil:
			s.log.Error("shared socket: reading keeps failing; every association on it ends", "error", err)
			s.stopListening()
			s.endAll(err)
			return
		}
		failed = 0
		s.take(p)
	}
}

// take hands on what the reader read: a notification or a whole message at once,
// a piece of a message once it completes the message (see assemble).
func (s *sharedSocket) take(p sctpsock.Msg) {
	if n := p.Notification; n != nil {
		if n.Type == sctpsock.NotifyPartialDelivery || endOf(n) != nil {
			s.interrupted(p.AssocID, n)
		}
		s.dispatch(p)
		return
	}
	l := s.leg(p.AssocID)
	if l == nil {
		s.dropPieces(p.AssocID)
		if !p.More {
			s.dispatch(p) // counted, as every message of an association no longer relayed
		}
		return
	}
	a := s.assemble(l, p)
	switch tl, ok := errors.AsType[*sctpsock.TooLargeError](a.err); {
	case ok:
		s.tooLarge(tl)
	case a.err != nil:
		s.log.Warn("shared socket: a message can never fit the quota; aborting its association", "assoc_id", l.id, "error", a.err)
		l.ending(a.err)
		l.pushErr(a.err)
	case a.done:
		s.dispatch(a.msg)
	}
}

// assemble adds p to l's message under way, charging what that grows by as a
// message of l's queue would be (fits: the leg's queue within quota.association,
// the socket's account within quota.socket), waiting for room if need be, and
// releasing it once the message is whole (dispatch then charges the message) or
// dropped. While it waits, every association does, as for a whole message.
func (s *sharedSocket) assemble(l *sharedLeg, p sctpsock.Msg) added {
	a := s.pieces.add(p)
	s.taken(a.freed)
	if a.grew == 0 {
		return a
	}
	drop, err := s.waitRoom(l, a.grew)
	switch {
	case err != nil:
		s.dropPieces(l.id)
		a.err = err
	case drop != "":
		s.dropPieces(l.id)
		s.dropped.add(drop, 1)
	case !s.pieces.charge(l.id, a.grew):
		s.taken(a.grew) // the leg closed and dropped its message meanwhile
	}
	return a
}

// dropPieces drops association id's message under way, if any, and releases
// what it was charged; true if there was one.
func (s *sharedSocket) dropPieces(id int32) bool {
	freed, under := s.pieces.drop(id)
	s.taken(freed)
	return under
}

// interrupted drops the message under way of association id, which the kernel
// cut short (a partial delivery event: its sender aborted, or its path failed,
// before the last piece) or whose association ended. The message is lost, so the
// association ends with ABORT: normally the kernel has ended it already, and the
// COMM_LOST that follows says so; if it has not, it is aborted here.
func (s *sharedSocket) interrupted(id int32, n *sctpsock.Notification) {
	if !s.dropPieces(id) && n.Type != sctpsock.NotifyPartialDelivery {
		return
	}
	s.dropped.add(admin.DropInterrupted, 1)
	err := fmt.Errorf("a message of the association was cut short before its last piece (%s): %w", n, sctpsock.ErrAborted)
	s.log.Debug("shared socket: message interrupted; its association ends", "assoc_id", id, "event", n.String())
	if l := s.leg(id); l != nil {
		l.ending(err)
		l.pushErr(err)
	}
	if n.Type == sctpsock.NotifyPartialDelivery {
		if aerr := s.sock.Abort(id); aerr != nil && !errors.Is(aerr, sctpsock.ErrNoAssoc) {
			s.log.Debug("shared socket: abort after an interrupted message", "assoc_id", id, "error", aerr)
		}
	}
}

// dispatch hands m to its association's leg, waiting for room if need be. A COMM_UP
// of an unknown association is a new front association.
func (s *sharedSocket) dispatch(m sctpsock.Msg) {
	if n := m.Notification; n != nil && n.AssocChange != nil && n.AssocChange.State == sctpsock.CommUp {
		if s.newAssoc(m.AssocID) {
			return
		}
	}
	l := s.leg(m.AssocID)
	if l == nil {
		s.dropped.add(admin.DropNoAssociation, 1)
		s.log.Trace("shared socket: message of an association no longer relayed", "assoc_id", m.AssocID)
		return
	}
	if end := endOf(m.Notification); end != nil {
		l.ending(end) // known now, even while the queue is full (see aborted)
		l.push(m, 0)  // a few bytes once per association: never waits, never charged
		return
	}
	cost := s.costOf(m)
	drop, err := s.waitRoom(l, cost)
	switch {
	case err != nil:
		s.log.Warn("shared socket: a message can never fit the quota; aborting its association", "assoc_id", l.id, "error", err)
		l.ending(err)
		l.pushErr(err)
	case drop != "":
		s.dropped.add(drop, 1)
	case !l.push(m, cost):
		s.taken(cost) // the leg closed meanwhile
		s.dropped.add(admin.DropAssociationClosed, 1)
	}
}

// newAssoc registers a front association that just came up and hands it to the
// accept loop, or aborts it once the relay has stopped listening; false if id is
// known already (a RESTART of a live one).
func (s *sharedSocket) newAssoc(id int32) bool {
	s.acceptMu.Lock()
	defer s.acceptMu.Unlock()
	if s.leg(id) != nil {
		return false
	}
	if !s.accepting {
		s.sock.Abort(id) // came up as the relay stopped listening
		return true
	}
	l := newSharedLeg(s, id)
	s.mu.Lock()
	s.legs[id] = l
	s.mu.Unlock()
	select {
	case s.accepts <- l:
	case <-s.closing:
	}
	return true
}

func (s *sharedSocket) leg(id int32) *sharedLeg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.legs[id]
}

func (s *sharedSocket) costOf(m sctpsock.Msg) int64 {
	if m.Notification != nil {
		return s.cost().Cost(len(m.Notification.Raw))
	}
	return s.cost().Cost(len(m.Data))
}

// fits charges a message of cost if it may join l's queue: l's queue stays within
// quota.association (+ one message), and the shared socket's account gets cost from the relay's
// budget, where every pipe's charges are too, within quota.socket. An error means
// the message can never fit.
func (s *sharedSocket) fits(l *sharedLeg, cost int64) (bool, error) {
	if q, held := s.assoc(), l.queuedCost(); q > 0 && held > 0 && held+cost > q {
		return false, nil // an empty queue takes one message, whatever its cost
	}
	return s.acct.TryCharge(cost)
}

// waitRoom waits until a message of cost fits l (see fits) and is charged; the
// pipes' charges are released meanwhile by the gates' observer, which does not
// signal room, so it looks again every roomRecheck. It returns why the message
// must be dropped instead, if it must: l was closed meanwhile, or the socket
// is closing.
func (s *sharedSocket) waitRoom(l *sharedLeg, cost int64) (admin.DropReason, error) {
	if ok, err := s.fits(l, cost); ok || err != nil {
		return "", err
	}
	start := time.Now()
	s.stalls.Add(1)
	s.log.Debug("shared socket full: reading stops for every association", "assoc_id", l.id,
		"leg_queued", l.queuedCost(), "socket_queued", s.acct.Used(), "budget_used", s.budget.Used())
	defer func() { s.stalled.Add(int64(time.Since(start))) }()
	t := time.NewTimer(roomRecheck)
	defer t.Stop()
	for {
		if l.closed.Load() {
			return admin.DropAssociationClosed, nil
		}
		select {
		case <-s.room:
		case <-t.C:
			t.Reset(roomRecheck) // the gate's observer released what the kernel let go of
		case <-s.closing:
			return admin.DropSocketClosing, nil
		}
		if ok, err := s.fits(l, cost); ok || err != nil {
			return "", err
		}
	}
}

// taken is called by a leg whose queue gave up cost.
func (s *sharedSocket) taken(cost int64) {
	if cost > 0 {
		s.acct.Release(cost)
	}
	select {
	case s.room <- struct{}{}:
	default:
	}
}

func (s *sharedSocket) queuedCost() int64 { return s.acct.Used() }

// sendQueued is what the kernel holds of what was written on l's association,
// unsent or unacknowledged: its row in sock_diag (sndbuf_used). If sock_diag is
// not available, the whole socket's send queue, which holds the association's
// charges longer, never shorter.
func (s *sharedSocket) sendQueued(l *sharedLeg) (int, error) {
	s.kernelMu.Lock()
	defer s.kernelMu.Unlock()
	if s.kernel == nil && !s.noDiag {
		c, err := diag.Open()
		s.kernel, s.noDiag = c, err != nil
	}
	if s.kernel != nil {
		if !l.ends.local.IsValid() || !l.ends.peer.IsValid() {
			l.ends = assocEnds(l)
		}
		e, err := s.kernel.Lookup(l.ends.local, l.ends.peer)
		if err != nil {
			return 0, err
		}
		return int(e.WQueue), nil
	}
	_, send, err := s.sock.Queued()
	return send, err
}

// forget drops a leg that was closed, and its message under way.
func (s *sharedSocket) forget(l *sharedLeg) {
	s.mu.Lock()
	mine := s.legs[l.id] == l
	if mine {
		delete(s.legs, l.id)
	}
	s.mu.Unlock()
	if mine {
		s.dropPieces(l.id)
	}
}

// tooLarge aborts the association that sent a message over max_message: the socket
// read past it and goes on with the others.
func (s *sharedSocket) tooLarge(tl *sctpsock.TooLargeError) {
	if l := s.leg(tl.AssocID); l != nil {
		l.ending(tl)
		l.pushErr(tl) // the pipe reads the error in its turn, and aborts
		return
	}
	s.sock.Abort(tl.AssocID)
}

// endAll ends every leg with err: the socket cannot be read any more.
func (s *sharedSocket) endAll(err error) {
	s.mu.Lock()
	legs := make([]*sharedLeg, 0, len(s.legs))
	for _, l := range s.legs {
		legs = append(legs, l)
	}
	s.mu.Unlock()
	for _, l := range legs {
		l.ending(err)
		l.pushErr(err)
	}
}

// accept returns the next new front association, or net.ErrClosed once the relay
// stopped listening.
func (s *sharedSocket) accept() (leg, error) {
	select {
	case l := <-s.accepts:
		return l, nil
	case <-s.stopped():
		return nil, net.ErrClosed
	}
}

// stopped is closed once the relay stopped listening.
func (s *sharedSocket) stopped() <-chan struct{} { return s.noAccept }

// stopListening refuses new associations; the live ones go on. The accept loop
// still gets those handed on before.
func (s *sharedSocket) stopListening() error {
	s.acceptMu.Lock()
	defer s.acceptMu.Unlock()
	if !s.accepting {
		return net.ErrClosed
	}
	s.accepting = false
	for len(s.accepts) > 0 {
		// Handed on but not yet taken: the accept loop stops taking now.
		l := <-s.accepts
		l.Abort()
	}
	close(s.noAccept)
	return s.sock.StopListening()
}

// close closes the socket (every association still on it ends) and waits for the
// reader.
func (s *sharedSocket) close() error {
	close(s.closing)
	err := s.sock.Close()
	<-s.done
	s.acct.Close()
	s.kernelMu.Lock()
	if s.kernel != nil {
		s.kernel.Close()
		s.kernel = nil
	}
	s.kernelMu.Unlock()
	return err
}

// addrs are the socket's local addresses.
func (s *sharedSocket) addrs() []netip.AddrPort { return s.sock.LocalAddrs() }

// status describes the shared socket: its counters, and its queues as the
// kernel counts them.
func (s *sharedSocket) status() *admin.SharedSocket {
	s.mu.Lock()
	assocs := len(s.legs)
	s.mu.Unlock()
	st := &admin.SharedSocket{Associations: assocs, Queued: s.acct.Used(), KernelRecv: -1, KernelSend: -1,
		Stalls: s.stalls.Load(), Stalled: time.Duration(s.stalled.Load())}
	st.DroppedBy = s.dropped.snapshot()
	for _, n := range st.DroppedBy {
		st.Dropped += n
	}
	if rq, wq, err := s.sock.Queued(); err == nil {
		st.KernelRecv, st.KernelSend = int64(rq), int64(wq)
	}
	return st
}
