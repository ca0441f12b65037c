package integration

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// pausedPeer is an upstream peer that reads numbered messages only while it is
// not paused, and checks that they arrive once and in order.
type pausedPeer struct {
	*peer
	paused  atomic.Bool
	arrived atomic.Int64
	base    atomic.Int64 // messages of earlier senders: a new sender numbers from 0
	bad     atomic.Value // string: the first message out of order
}

func startPausedPeer(t *testing.T) *pausedPeer {
	p := &pausedPeer{}
	p.paused.Store(true)
	p.peer = startPeer(t, sctpsock.Options{}, func(c *sctpsock.Conn) {
		defer c.Close()
		buf := make([]byte, 256<<10)
		for {
			if p.paused.Load() {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			m, err := readData(c, buf)
			if err != nil {
				return
			}
			if seq, due := int64(binary.BigEndian.Uint32(m.Data)), p.arrived.Load()-p.base.Load(); seq != due {
				p.bad.CompareAndSwap(nil, fmt.Sprintf("message %d arrived when %d was due", seq, due))
			}
			p.arrived.Add(1)
		}
	})
	return p
}

// TestReloadLowersQuotaBelowWaitingCharge: messages of 96 KiB (~200 KiB of
// true cost each) wait for quota toward a peer that does not read, when a
// reload lowers quota.association to 128 KiB (and max_message to 16 KiB, so
// that the file is valid): the association survives, every message is
// delivered once and in order when the peer reads again, and messages sent
// after that are held to the new quota.
func TestReloadLowersQuotaBelowWaitingCharge(t *testing.T) {
	up := startPausedPeer(t)
	g := startGuard(t, relayConfig(up.addr, "max_message = \"128KiB\"\n  quota { association = \"1MiB\" }"))
	c := dial(t, g.addr, sctpsock.Options{NoDelay: true})
	stop := make(chan struct{})
	big := startSender(c, 96<<10, stop)
	waitBlockedSender(t, big)
	before := guardStatus(t, g).Associations
	if len(before) != 1 {
		t.Fatalf("status lists %d associations, want 1", len(before))
	}
	t.Logf("%d messages of 96 KiB sent; sctpguard holds %d B toward upstream under 1 MiB", big.sent.Load(), before[0].HeldToUpstream)

	g.rewrite(t, relayConfig(up.addr, "max_message = \"16KiB\"\n  quota { association = \"128KiB\" }"))
	g.signal(t, syscall.SIGHUP)
	eventually(t, "new quota in status", 10*time.Second, func() bool { return quotaOf(guardStatus(t, g), "test") == 128<<10 })
	time.Sleep(time.Second) // an abort for the waiting charge would come now
	if st := guardStatus(t, g).Associations; len(st) != 1 || st[0].State != "ESTABLISHED" {
		t.Fatalf("after the reload status lists %+v, want the association ESTABLISHED", st)
	}

	close(stop)
	up.paused.Store(false)
	<-big.done
	if big.err != nil {
		t.Fatalf("sender of 96 KiB messages: %v", big.err)
	}
	eventually(t, "every message delivered", 60*time.Second, func() bool { return up.arrived.Load() >= big.sent.Load() })
	if b := up.bad.Load(); b != nil {
		t.Fatalf("out of order: %s", b)
	}

	// New messages obey the new quota: 1 KiB ones toward the paused peer.
	up.paused.Store(true)
	up.base.Store(big.sent.Load())
	stop2 := make(chan struct{})
	small := startSender(c, 1024, stop2)
	waitBlockedSender(t, small)
	st := guardStatus(t, g).Associations
	if len(st) != 1 || st[0].State != "ESTABLISHED" {
		t.Fatalf("status lists %+v, want the association ESTABLISHED", st)
	}
	held := st[0].HeldToUpstream
	t.Logf("%d messages of 96 KiB delivered; then sctpguard holds %d B of 1 KiB messages under 128 KiB (was %d B under 1 MiB)",
		big.sent.Load(), held, before[0].HeldToUpstream)
	// One 1 KiB message costs ~2.6 KB: the quota, one message, and the
	// gate's probes of a stale window (docs/gate.md), far below the old 1 MiB.
	if held > 128<<10+32<<10 {
		t.Errorf("holds %d B toward upstream after the reload, want at most the new 128 KiB quota and a few messages", held)
	}
	close(stop2)
	up.paused.Store(false)
	<-small.done
	if small.err != nil {
		t.Fatalf("sender of 1 KiB messages: %v", small.err)
	}
	total := big.sent.Load() + small.sent.Load()
	eventually(t, "every message delivered", 60*time.Second, func() bool { return up.arrived.Load() >= total })
	time.Sleep(200 * time.Millisecond) // a duplicate would arrive now
	if b := up.bad.Load(); b != nil {
		t.Fatalf("out of order: %s", b)
	}
	if got := up.arrived.Load(); got != total {
		t.Fatalf("upstream received %d messages, the application sent %d", got, total)
	}
}
