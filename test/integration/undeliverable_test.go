package integration

import (
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/admin"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// floodingPeer is an upstream peer that sends 100-byte messages from the moment
// it accepts until its association ends, and counts what it receives.
type floodingPeer struct {
	*peer
	flood chan *sender // the sender of the association it accepted
	ended chan peerEnd // how that association ended
}

type peerEnd struct {
	got int   // data messages received
	err error // from readEnd
}

func startFloodingPeer(t *testing.T) *floodingPeer {
	p := &floodingPeer{flood: make(chan *sender, 1), ended: make(chan peerEnd, 1)}
	p.peer = startPeer(t, sctpsock.Options{NoDelay: true}, func(c *sctpsock.Conn) {
		p.flood <- startSender(c, 100, nil)
		n, err := readEnd(c, 60*time.Second)
		p.ended <- peerEnd{n, err}
	})
	return p
}

// TestUndeliverableAborts: SCTP has no half-close. When the application's side of
// an association ends gracefully while the upstream peer is still sending, what
// the peer sent since cannot be delivered, and the peer must learn it from an
// ABORT, not from a clean SHUTDOWN that says everything arrived. The application
// still sees a clean end, and everything it sent reaches the peer first.
func TestUndeliverableAborts(t *testing.T) {
	t.Run("application shuts down", func(t *testing.T) {
		up := startFloodingPeer(t)
		g := startGuard(t, relayConfig(up.addr, "max_message = \"64KiB\"\n  quota { association = \"260KiB\" }"))
		c := dial(t, g.addr, sctpsock.Options{NoDelay: true})
		sendNumbered(t, c, 50)
		s := <-up.flood
		// The application reads nothing: the flood backs up into sctpguard,
		// which holds messages toward it when it shuts down.
		waitBlockedSender(t, s)
		if err := c.Shutdown(); err != nil {
			t.Fatal(err)
		}
		if _, err := readEnd(c, 30*time.Second); !errors.Is(err, io.EOF) {
			t.Errorf("application saw %v, want its own SHUTDOWN to complete (EOF)", err)
		}
		checkPeerAborted(t, g, up, s, 50)
	})
	t.Run("drain", func(t *testing.T) {
		up := startFloodingPeer(t)
		g := startGuard(t, relayConfig(up.addr, "")+`shutdown { drain_timeout = "30s" }`)
		c := dial(t, g.addr, sctpsock.Options{NoDelay: true})
		sendNumbered(t, c, 50)
		s := <-up.flood
		frontEnd := make(chan error, 1)
		go func() { _, err := readEnd(c, 60*time.Second); frontEnd <- err }()
		eventually(t, "the flood under way", 20*time.Second, func() bool { return s.sent.Load() > 1000 })
		g.signal(t, syscall.SIGTERM)
		if code, _ := g.exit(t, 40*time.Second); code != 0 {
			t.Errorf("sctpguard exit code %d after a drain, want 0", code)
		}
		if err := <-frontEnd; !errors.Is(err, io.EOF) {
			t.Errorf("application saw %v, want the drain's SHUTDOWN (EOF)", err)
		}
		checkPeerAborted(t, g, up, s, 50)
	})
}

// sendNumbered writes n messages on c.
func sendNumbered(t *testing.T, c *sctpsock.Conn, n int) {
	t.Helper()
	for i := range n {
		if err := c.WriteMsg(sctpsock.Msg{Data: []byte{byte(i)}, PPID: ppidFlow}); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
}

// checkPeerAborted: the flooding peer received the application's want messages
// and then ABORT, its sends failed, and sctpguard logged the leg it aborted.
func checkPeerAborted(t *testing.T, g *guard, up *floodingPeer, s *sender, want int) {
	t.Helper()
	select {
	case e := <-up.ended:
		if e.got != want {
			t.Errorf("the upstream peer received %d messages, want the application's %d", e.got, want)
		}
		if !errors.Is(e.err, sctpsock.ErrAborted) {
			t.Errorf("the upstream peer saw %v, want ABORT: messages it sent after the application's side ended were not delivered", e.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the upstream peer's association did not end")
	}
	<-s.done
	t.Logf("the upstream peer sent %d messages; its send then failed with %v", s.sent.Load(), s.err)
	e := g.waitLog("aborting leg: messages it sent after the other side shut down could not be delivered",
		10*time.Second, "leg", "upstream")
	t.Logf("sctpguard logged: %v", e)
}

// TestWaitingChargeEnds: a message waiting for quota toward a stalled upstream
// must not hold the association and its quota once nothing can deliver it
// (issue 11, items 2 and 3).
//
//   - The upstream peer shuts down without reading: the messages waiting for it
//     can never be delivered; the application must see ABORT and the quota come
//     back, where a pipe waiting for a charge used to wait forever.
//   - The application aborts after sctpguard has read its queue ahead: the ABORT
//     read ahead must end the association, where it used to be kept in the
//     backlog and the quota held forever.
func TestWaitingChargeEnds(t *testing.T) {
	t.Run("upstream shuts down", func(t *testing.T) {
		shut := make(chan struct{})
		ended := make(chan error, 1)
		up := startPeer(t, sctpsock.Options{}, func(c *sctpsock.Conn) {
			<-shut
			c.Shutdown()
			_, err := readEnd(c, 30*time.Second)
			ended <- err
		})
		g := startGuard(t, relayConfig(up.addr, "max_message = \"64KiB\"\n  quota { association = \"260KiB\" }"))
		c := dial(t, g.addr, sctpsock.Options{NoDelay: true})
		s := startSender(c, 1024, nil)
		waitBlockedSender(t, s)
		close(shut)
		if _, err := readEnd(c, 30*time.Second); !errors.Is(err, sctpsock.ErrAborted) {
			t.Errorf("application saw %v, want ABORT: the messages waiting for quota were never delivered", err)
		}
		g.waitLog("association ended", 20*time.Second)
		assertNothingHeld(t, g)
		t.Logf("the application had sent %d messages; the upstream peer's read ended with %v", s.sent.Load(), <-ended)
	})
	t.Run("application aborts", func(t *testing.T) {
		g, _, c, s, release := stalledFlow(t, "")
		defer close(release)
		// stalledFlow waited until the sender was blocked, beyond freezeAfter:
		// sctpguard has read the front queue ahead.
		c.Abort()
		<-s.done
		g.waitLog("association ended", 20*time.Second, "reason", "peer_abort")
		assertNothingHeld(t, g)
	})
}

// assertNothingHeld: the relay holds no association and no charge.
func assertNothingHeld(t *testing.T, g *guard) {
	t.Helper()
	var st admin.Status
	eventually(t, "the relay to hold no association and no quota", 10*time.Second, func() bool {
		st = guardStatus(t, g)
		return len(st.Associations) == 0 && st.Relays[0].Held == 0
	}, func() string {
		return fmt.Sprintf("%d associations, %d B held", len(st.Associations), st.Relays[0].Held)
	})
}
