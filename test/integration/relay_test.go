package integration

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/sctpsock"
	"github.com/sctpguard/sctpguard/test/echopeer"
)

// TestMessagesIntact relays messages of 1 B to 1 MiB to an echo peer and back: every
// one must come back whole, on its stream, with its PPID and unordered flag.
func TestMessagesIntact(t *testing.T) {
	big := sctpsock.Options{OutStreams: 8, MaxInStreams: 8, MaxMessage: 2 << 20, SendBuffer: 4 << 20, NoDelay: true}
	up := startPeer(t, big, echopeer.Serve)
	g := startGuard(t, relayConfig(up.addr, `
  streams     = 8
  max_message = "2MiB"
  quota {
    association = "8MiB"
  }`))
	c := dial(t, g.addr, big)
	buf := make([]byte, 4<<10) // smaller than most messages: reassembly by MSG_EOR
	for i, size := range []int{1, 1 << 10, 64 << 10, 1 << 20} {
		for _, unordered := range []bool{false, true} {
			want := sctpsock.Msg{Data: randomBytes(size), Stream: uint16(i*2 + 1), PPID: 0xA1B2C3D4 + uint32(i), Unordered: unordered}
			if err := c.WriteMsg(want); err != nil {
				t.Fatalf("write %d B: %v", size, err)
			}
			got, err := readData(c, buf)
			if err != nil {
				t.Fatalf("read back %d B: %v", size, err)
			}
			assertSame(t, got, want)
		}
	}
}

func assertSame(t *testing.T, got, want sctpsock.Msg) {
	t.Helper()
	if !bytes.Equal(got.Data, want.Data) {
		t.Fatalf("payload of %d B came back as %d B (or altered)", len(want.Data), len(got.Data))
	}
	if got.Stream != want.Stream || got.PPID != want.PPID || got.Unordered != want.Unordered {
		t.Fatalf("got stream %d ppid %#x unordered %v, want stream %d ppid %#x unordered %v",
			got.Stream, got.PPID, got.Unordered, want.Stream, want.PPID, want.Unordered)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return b
}

// TestOrderPerStream sends 10,000 numbered messages on each of 8 streams, interleaved,
// through sctpguard to a peer that checks every stream arrives complete and in order.
func TestOrderPerStream(t *testing.T) {
	const streams, perStream = 8, 10000
	type rec struct {
		stream uint16
		seq    uint32
	}
	got := make(chan rec, 1024)
	up := startPeer(t, sctpsock.Options{OutStreams: streams, MaxInStreams: streams}, func(c *sctpsock.Conn) {
		defer c.Close()
		buf := make([]byte, 1024)
		for {
			m, err := readData(c, buf)
			if err != nil {
				close(got)
				return
			}
			got <- rec{m.Stream, binary.BigEndian.Uint32(m.Data)}
		}
	})
	g := startGuard(t, relayConfig(up.addr, `streams = 8`))
	c := dial(t, g.addr, sctpsock.Options{OutStreams: streams, MaxInStreams: streams, NoDelay: true})
	go func() {
		msg := make([]byte, 64)
		for seq := range uint32(perStream) {
			for s := range uint16(streams) {
				binary.BigEndian.PutUint32(msg, seq)
				if err := c.WriteMsg(sctpsock.Msg{Data: msg, Stream: s, PPID: 7}); err != nil {
					t.Errorf("write seq %d stream %d: %v", seq, s, err)
					return
				}
			}
		}
		c.Shutdown()
	}()
	next := make([]uint32, streams)
	total := 0
	timeout := time.After(5 * time.Minute)
	for total < streams*perStream {
		select {
		case r, ok := <-got:
			if !ok {
				t.Fatalf("upstream association ended after %d of %d messages", total, streams*perStream)
			}
			if r.seq != next[r.stream] {
				t.Fatalf("stream %d: got message %d, want %d", r.stream, r.seq, next[r.stream])
			}
			next[r.stream]++
			total++
		case <-timeout:
			t.Fatalf("only %d of %d messages arrived: per stream %v", total, streams*perStream, next)
		}
	}
	if _, ok := <-got; ok {
		t.Fatal("a message arrived after the last one")
	}
	g.waitLog("association ended", 20*time.Second, "reason", "shutdown", "msgs_to_upstream", fmt.Sprint(streams*perStream))
}

// TestPeerShutdown: the upstream peer sends messages then shuts down; the front
// application receives every message, then SHUTDOWN (EOF), and the end is logged.
func TestPeerShutdown(t *testing.T) {
	const n = 100
	up := startPeer(t, sctpsock.Options{}, func(c *sctpsock.Conn) {
		for i := range n {
			c.WriteMsg(sctpsock.Msg{Data: []byte(fmt.Sprint(i)), PPID: 1})
		}
		c.Shutdown()
		readEnd(c, 10*time.Second)
		c.Close()
	})
	g := startGuard(t, relayConfig(up.addr, ""))
	c := dial(t, g.addr, sctpsock.Options{})
	got, err := readEnd(c, 20*time.Second)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("front saw %v, want SHUTDOWN (io.EOF)", err)
	}
	if got != n {
		t.Fatalf("front received %d messages before SHUTDOWN, want %d", got, n)
	}
	g.waitLog("association ended", 10*time.Second, "reason", "shutdown", "msgs_to_front", fmt.Sprint(n))
}

// TestPeerAbort: the upstream peer aborts; the front application sees ABORT and the
// log names the cause.
func TestPeerAbort(t *testing.T) {
	up := startPeer(t, sctpsock.Options{}, func(c *sctpsock.Conn) {
		buf := make([]byte, 1024)
		readData(c, buf) // wait for the first message, then abort
		c.Abort()
	})
	g := startGuard(t, relayConfig(up.addr, ""))
	c := dial(t, g.addr, sctpsock.Options{})
	if err := c.WriteMsg(sctpsock.Msg{Data: []byte("hello")}); err != nil {
		t.Fatal(err)
	}
	if _, err := readEnd(c, 20*time.Second); !errors.Is(err, sctpsock.ErrAborted) {
		t.Fatalf("front saw %v, want ABORT", err)
	}
	g.waitLog("association ended", 10*time.Second, "reason", "peer_abort")
	if e := g.findLog("aborting association", "reason", "peer_abort"); e == nil {
		t.Fatal("no log line names the peer's abort")
	}
}

// TestUpstreamUnreachable: nothing listens upstream; the front association is aborted
// and the log names the address and the error.
func TestUpstreamUnreachable(t *testing.T) {
	closed := startPeer(t, sctpsock.Options{}, echopeer.Serve)
	addr := closed.addr
	closed.ln.Close() // the port is now refused
	g := startGuard(t, relayConfig(addr, `connect_timeout = "3s"`))
	if err := refusedAssociation(t, g.addr); err != nil {
		t.Fatalf("front: %v", err)
	}
	e := g.waitLog("association refused", 10*time.Second, "error", addr.String())
	t.Logf("logged: %v", e["error"])
	if e := g.findLog("association refused", "error", "refused"); e == nil {
		t.Fatal("the log line does not say the upstream refused")
	}
}

// TestMissingStream: the upstream peer accepts only 2 inbound streams; a message on
// stream 5 cannot be relayed, so both legs are aborted and the log says why.
func TestMissingStream(t *testing.T) {
	aborted := make(chan error, 1)
	accepted := make(chan struct{})
	up := startPeer(t, sctpsock.Options{OutStreams: 2, MaxInStreams: 2}, func(c *sctpsock.Conn) {
		close(accepted)
		_, err := readEnd(c, 20*time.Second)
		aborted <- err
	})
	g := startGuard(t, relayConfig(up.addr, `streams = 8`))
	c := dial(t, g.addr, sctpsock.Options{OutStreams: 8, MaxInStreams: 8})
	// An association aborted while it waits in the peer's accept queue reads as a
	// plain end once accepted: the ABORT is asserted on an accepted one.
	waitAccepted(t, accepted)
	if err := c.WriteMsg(sctpsock.Msg{Data: []byte("x"), Stream: 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := readEnd(c, 20*time.Second); !errors.Is(err, sctpsock.ErrAborted) {
		t.Fatalf("front saw %v, want ABORT", err)
	}
	if err := <-aborted; !errors.Is(err, sctpsock.ErrAborted) {
		t.Fatalf("upstream saw %v, want ABORT", err)
	}
	g.waitLog("aborting association", 10*time.Second, "reason", "stream_missing", "error", "stream 5")
}

// TestMessageTooLarge: a message over max_message aborts both legs with a log line;
// messages before it were delivered.
func TestMessageTooLarge(t *testing.T) {
	got := make(chan int, 4)
	accepted := make(chan struct{})
	up := startPeer(t, sctpsock.Options{}, func(c *sctpsock.Conn) {
		close(accepted)
		n, err := readEnd(c, 20*time.Second)
		if errors.Is(err, sctpsock.ErrAborted) {
			got <- n
		}
		close(got)
	})
	g := startGuard(t, relayConfig(up.addr, `max_message = "64KiB"`))
	c := dial(t, g.addr, sctpsock.Options{NoDelay: true})
	waitAccepted(t, accepted)
	if err := c.WriteMsg(sctpsock.Msg{Data: make([]byte, 64<<10)}); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMsg(sctpsock.Msg{Data: make([]byte, 64<<10+1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := readEnd(c, 20*time.Second); !errors.Is(err, sctpsock.ErrAborted) {
		t.Fatalf("front saw %v, want ABORT", err)
	}
	if n, ok := <-got; !ok || n != 1 {
		t.Fatalf("upstream got %d messages then ABORT (ok=%v), want 1 then ABORT", n, ok)
	}
	g.waitLog("aborting association", 10*time.Second, "reason", "too_large")
}

// waitAccepted waits until a test peer has accepted sctpguard's upstream association.
func waitAccepted(t *testing.T, accepted <-chan struct{}) {
	t.Helper()
	select {
	case <-accepted:
	case <-time.After(20 * time.Second):
		t.Fatal("the upstream peer accepted no association within 20s")
	}
}
