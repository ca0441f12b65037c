package integration

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/admin"
	"github.com/sctpguard/sctpguard/sctpsock"
	"github.com/sctpguard/sctpguard/test/echopeer"
)

// These tests run relays with listen_style = "one_to_many": every front association
// on one SOCK_SEQPACKET socket of sctpguard's.
//
//	app 1 ─┐
//	app 2 ─┼─▶ [one shared socket] sctpguard ──one-to-one──▶ upstream peer
//	app N ─┘

// oneToMany is the relay block for these tests; extra goes inside it.
func oneToMany(extra string) string {
	return `listen_style = "one_to_many"
  ` + extra
}

// TestOneToManyRelay: eight applications through one shared front socket to an echo
// peer, concurrently: every message comes back intact (size, stream, PPID, unordered
// flag) and the ordered ones in order per stream, both ways; the kernel shows all
// eight associations on one socket of the sctpguard process, and status says so.
func TestOneToManyRelay(t *testing.T) {
	const n, perClient, streams = 8, 300, 4
	up := startPeer(t, sctpsock.Options{OutStreams: streams, MaxInStreams: streams}, echopeer.Serve)
	g := startGuard(t, relayConfig(up.addr, oneToMany(`streams = 4
  quota {
    association = "1MiB"
    socket      = "32MiB"
  }`)))
	clients := make([]*sctpsock.Conn, n)
	for i := range clients {
		clients[i] = dial(t, g.addr, sctpsock.Options{OutStreams: streams, MaxInStreams: streams, NoDelay: true})
	}
	// A walk of the kernel's table while the upstream legs are still being
	// inserted may skip or repeat a row, so the count is read until it settles.
	var inode string
	var assocs int
	eventually(t, fmt.Sprintf("the shared socket to hold %d associations", n), 5*time.Second, func() bool {
		inode, assocs = sharedInode(t, g)
		return assocs == n
	}, func() string { return fmt.Sprintf("it holds %d", assocs) })
	if fds := processSockets(t, g.pid(), inode); fds != 1 {
		t.Fatalf("sctpguard has %d descriptors on socket %s, want 1", fds, inode)
	}
	var st admin.Status
	eventually(t, fmt.Sprintf("%d associations in status", n), 10*time.Second, func() bool { // the last ones may still be connecting upstream
		st = guardStatus(t, g)
		return len(st.Associations) >= n
	})
	if r := st.Relays[0]; r.ListenStyle != "one_to_many" || r.Shared == nil || r.Shared.Associations != n || len(st.Associations) != n {
		t.Fatalf("status: relay %+v, %d associations", r, len(st.Associations))
	}
	t.Logf("%d front associations on socket inode %s; status: %+v", n, inode, *st.Relays[0].Shared)

	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i, c := range clients {
		wg.Add(1)
		go func() { // one-to-many-client
			defer wg.Done()
			errs <- echoSequence(c, i, perClient, streams)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range clients {
		c.Shutdown()
	}
	eventually(t, fmt.Sprintf("%d associations to end", n), 10*time.Second, func() bool { return g.countLog("association ended") >= n })
	if got := g.countLog("association ended"); got != n {
		t.Fatalf("%d associations ended, want %d", got, n)
	}
	g.waitLog("association ended", time.Second, "reason", "shutdown", "msgs_to_upstream", strconv.Itoa(perClient))
}

// echoSequence sends count messages of varied sizes on c, numbered in their PPID
// (client<<16 | seq) and payload, every tenth unordered, and checks the echoes: each
// once and intact, the ordered ones in order on their stream.
func echoSequence(c *sctpsock.Conn, client, count, streams int) error {
	werr := make(chan error, 1)
	go func() { // one-to-many-writer
		for seq := range count {
			if err := c.WriteMsg(numbered(client, seq, streams)); err != nil {
				werr <- fmt.Errorf("client %d: write %d: %w", client, seq, err)
				return
			}
		}
		werr <- nil
	}()
	c.SetReadDeadline(time.Now().Add(3 * time.Minute))
	defer c.SetReadDeadline(time.Time{})
	last := make([]int, streams)
	for i := range last {
		last[i] = -1
	}
	seen := make(map[int]bool, count)
	buf := make([]byte, 64<<10)
	for range count {
		m, err := readData(c, buf)
		if err != nil {
			return fmt.Errorf("client %d: read after %d echoes: %w", client, len(seen), err)
		}
		seq := int(m.PPID & 0xffff)
		want := numbered(client, seq, streams)
		switch {
		case int(m.PPID>>16) != client || seen[seq]:
			return fmt.Errorf("client %d: echo with PPID %#x (seen before: %v)", client, m.PPID, seen[seq])
		case !bytes.Equal(m.Data, want.Data) || m.Stream != want.Stream || m.Unordered != want.Unordered:
			return fmt.Errorf("client %d: message %d came back as %d B on stream %d unordered %v", client, seq, len(m.Data), m.Stream, m.Unordered)
		case !m.Unordered && seq < last[m.Stream]:
			return fmt.Errorf("client %d: stream %d: message %d after %d", client, m.Stream, seq, last[m.Stream])
		}
		if !m.Unordered {
			last[m.Stream] = seq
		}
		seen[seq] = true
	}
	return <-werr
}

func numbered(client, seq, streams int) sctpsock.Msg {
	size := 8 + (seq*977)%3000
	data := make([]byte, size)
	binary.BigEndian.PutUint32(data, uint32(client))
	binary.BigEndian.PutUint32(data[4:], uint32(seq))
	for i := 8; i < size; i++ {
		data[i] = byte(client*31 + seq + i)
	}
	return sctpsock.Msg{Data: data, Stream: uint16(seq % streams), PPID: uint32(client<<16 | seq), Unordered: seq%10 == 9}
}

// sharedInode finds the socket of g's front port in /proc/net/sctp/assocs: every
// association with that local port must sit on one socket; it returns the socket's
// inode and how many associations it holds.
func sharedInode(t *testing.T, g *guard) (string, int) {
	t.Helper()
	b, err := os.ReadFile("/proc/net/sctp/assocs")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	head := strings.Fields(lines[0])
	ino, lport := indexOfField(head, "INODE"), indexOfField(head, "LPORT")
	if ino < 0 || lport < 0 {
		t.Fatalf("/proc/net/sctp/assocs header %q", lines[0])
	}
	id := indexOfField(head, "ASSOC-ID")
	inodes := map[string]int{}
	seen := map[string]bool{} // a walk of the kernel's table across reads may repeat a row
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) <= max(ino, lport, id) || f[lport] != strconv.Itoa(int(g.addr.Port())) {
			continue
		}
		if seen[f[ino]+"/"+f[id]] {
			t.Logf("/proc/net/sctp/assocs repeated the row of association %s", f[id])
			continue
		}
		seen[f[ino]+"/"+f[id]] = true
		inodes[f[ino]]++
	}
	if len(inodes) != 1 {
		t.Fatalf("associations on port %d sit on %d sockets: %v", g.addr.Port(), len(inodes), inodes)
	}
	for k, v := range inodes {
		return k, v
	}
	return "", 0
}

func indexOfField(fields []string, name string) int {
	for i, f := range fields {
		if f == name {
			return i
		}
	}
	return -1
}

// processSockets counts pid's descriptors open on the socket with inode.
func processSockets(t *testing.T, pid int, inode string) int {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if l, _ := os.Readlink(filepath.Join(dir, e.Name())); l == "socket:["+inode+"]" {
			n++
		}
	}
	return n
}

// TestOneToManyThirdParty: lksctp-tools on both sides of a one_to_many relay: two
// sctp_test clients at once share sctpguard's front socket, and the sctp_test server
// upstream logs every message of both with its size, flags and PPID.
func TestOneToManyThirdParty(t *testing.T) {
	port := freePort(t)
	serverLog := background(t, "sctp_test", "-H", "127.0.0.1", "-P", fmt.Sprint(port), "-l")
	waitListening(t, port)
	g := startGuard(t, relayConfig(netip.AddrPortFrom(loopback, uint16(port)), oneToMany(`max_message = "64KiB"
  quota {
    socket = "16MiB"
  }`)))
	outs := make([]string, 2)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Add(1)
		go func() { // sctp_test-client
			defer wg.Done()
			outs[i], _ = runAny(t, "", 60*time.Second, "sctp_test", "-H", "127.0.0.1", "-P", "0",
				"-h", "127.0.0.1", "-p", fmt.Sprint(g.addr.Port()), "-s", "-c", "4", "-x", "2")
		}()
	}
	wg.Wait()
	var sent []sample
	for i, out := range outs {
		s := samples(sentRE, out)
		if len(s) < 10 {
			t.Fatalf("sctp_test client %d sent %d messages:\n%s", i, len(s), out)
		}
		sent = append(sent, s...)
	}
	got := checkServerLogged(t, serverLog, sent)
	t.Logf("two sctp_test clients sent %d messages through the shared socket; the server logged %d with matching size, flags and PPID", len(sent), len(got))
}

// TestOneToManySocketQuota: four associations share the front socket; the upstream
// consumer of one of them (X) stops reading while its application floods. X's pipe
// fills its quota, the shared socket's reader queues X's further messages, charged
// to the relay's socket quota, and the other three keep exchanging messages until
// the socket quota is reached; then the reader stops and all of them wait. The
// relay's budget in use (its pipes and the queue) never exceeds quota.socket. When
// X's consumer reads again, every message of X arrives once and in order, and the
// others finish.
func TestOneToManySocketQuota(t *testing.T) {
	const (
		assocQuota  = 128 << 10
		socketQuota = 768 << 10
		floodMsgs   = 1500
		floodSize   = 1000
	)
	release := make(chan struct{})
	floodDone := make(chan int, 1)
	up := startPeer(t, sctpsock.Options{RecvBuffer: 4 << 20}, func(c *sctpsock.Conn) { stallPeer(c, release, floodDone) })
	g := startGuard(t, relayConfig(up.addr, oneToMany(`max_message = "16KiB"
  quota {
    association = "128KiB"
    socket      = "768KiB"
  }`)))
	others := make([]*sctpsock.Conn, 3)
	for i := range others {
		others[i] = dial(t, g.addr, sctpsock.Options{NoDelay: true})
	}
	x := dial(t, g.addr, sctpsock.Options{NoDelay: true})
	xFront := localAddr(t, x)

	var progress [3]progressCounter
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range others {
		wg.Add(1)
		go func() { defer wg.Done(); pingLoop(c, &progress[i], stop) }() // one-to-many-pinger
	}
	time.Sleep(time.Second)
	before := sumProgress(&progress)
	floodStart := time.Now()
	floodErr := make(chan error, 1)
	go func() { floodErr <- floodNumbered(x, floodMsgs, floodSize) }() // one-to-many-flooder

	// Sample status until the shared socket has stalled and the others stopped moving.
	var stalledAt time.Time
	var maxUsed, maxXAcct, maxXQueue int64
	var atStall int
	eventually(t, "the shared socket to stall, and 2s to pass", 90*time.Second, func() bool {
		st := guardStatus(t, g)
		r := st.Relays[0]
		maxUsed = max(maxUsed, r.Budget.Used)
		if r.Budget.Used > socketQuota {
			t.Fatalf("relay budget in use %d > quota.socket %d", r.Budget.Used, socketQuota)
		}
		if a := findAssoc(st, xFront); a != nil {
			maxXAcct = max(maxXAcct, a.HeldToUpstream-a.QueuedToUpstream)
			maxXQueue = max(maxXQueue, a.QueuedToUpstream)
		}
		if stalledAt.IsZero() && r.Shared != nil && r.Shared.Stalls > 0 && maxXAcct > 0 {
			stalledAt, atStall = time.Now(), sumProgress(&progress)
		}
		return !stalledAt.IsZero() && time.Since(stalledAt) > 2*time.Second
	}, func() string { return fmt.Sprintf("relay budget peaked at %d", maxUsed) })
	afterStall := sumProgress(&progress)
	t.Logf("the others made %d exchanges in 1s before the flood, %d between its start and the stall %v later, %d in the 2s after it",
		before, atStall-before, stalledAt.Sub(floodStart).Round(time.Millisecond), afterStall-atStall)
	t.Logf("X held at most %d B in its pipe (quota %d) and %d B in the shared queue; relay budget in use peaked at %d B of %d",
		maxXAcct, assocQuota, maxXQueue, maxUsed, socketQuota)
	const perMsg = 8 << 10 // more than one flood message costs, under any cost model in use
	if maxXAcct > assocQuota+perMsg || maxXQueue > assocQuota+perMsg {
		t.Fatalf("X held %d in its pipe and %d queued; each must stay within its quota %d (+ one message)", maxXAcct, maxXQueue, assocQuota)
	}
	if atStall-before <= 0 {
		t.Fatalf("the others made no exchange while X flooded before the stall")
	}

	close(release)
	if err := <-floodErr; err != nil {
		t.Fatal(err)
	}
	x.Shutdown()
	select {
	case n := <-floodDone:
		if n != floodMsgs {
			t.Fatalf("X's consumer read %d messages in order, want %d", n, floodMsgs)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("X's messages did not all arrive")
	}
	resumed := sumProgress(&progress)
	eventually(t, "the others to resume", 10*time.Second, func() bool { return sumProgress(&progress) > resumed })
	close(stop)
	wg.Wait()
	for i := range progress {
		if err := progress[i].err; err != nil {
			t.Fatalf("pinger %d: %v", i, err)
		}
	}
}

// stallPeer is the upstream side of TestOneToManySocketQuota: an association whose
// first message has the flood mark reads nothing until release is closed, then
// checks that the numbered messages come in order and reports how many did; the
// others are echoed.
func stallPeer(c *sctpsock.Conn, release <-chan struct{}, done chan<- int) {
	defer c.Close()
	buf := make([]byte, 64<<10)
	m, err := readData(c, buf)
	if err != nil {
		return
	}
	if m.PPID != floodMark {
		if c.WriteMsg(m) == nil {
			echopeer.Serve(c)
		}
		return
	}
	<-release
	next := 0
	for {
		m, err := readData(c, buf)
		if err != nil {
			done <- next
			return
		}
		if int(m.PPID) != next || len(m.Data) < 4 || int(binary.BigEndian.Uint32(m.Data)) != next {
			done <- -next - 1
			return
		}
		next++
	}
}

// floodNumbered sends the flood mark, then n messages numbered 0..n-1 in PPID and
// payload.
func floodNumbered(c *sctpsock.Conn, n, size int) error {
	if err := c.WriteMsg(sctpsock.Msg{Data: []byte{'x'}, PPID: floodMark}); err != nil {
		return err
	}
	data := make([]byte, size)
	for i := range n {
		binary.BigEndian.PutUint32(data, uint32(i))
		if err := c.WriteMsg(sctpsock.Msg{Data: data, PPID: uint32(i)}); err != nil {
			return fmt.Errorf("flood message %d: %w", i, err)
		}
	}
	return nil
}

type progressCounter struct {
	mu  sync.Mutex
	n   int
	err error
}

func sumProgress(p *[3]progressCounter) int {
	n := 0
	for i := range p {
		p[i].mu.Lock()
		n += p[i].n
		p[i].mu.Unlock()
	}
	return n
}

// pingLoop exchanges numbered 100-byte messages with the echo peer, one at a time,
// until stop is closed, counting the exchanges.
func pingLoop(c *sctpsock.Conn, p *progressCounter, stop <-chan struct{}) {
	buf := make([]byte, 4096)
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		err := c.WriteMsg(sctpsock.Msg{Data: make([]byte, 100), PPID: uint32(i)})
		var m sctpsock.Msg
		if err == nil {
			m, err = readData(c, buf)
		}
		if err == nil && m.PPID != uint32(i) {
			err = fmt.Errorf("echo %d came back as %d", i, m.PPID)
		}
		p.mu.Lock()
		if err != nil {
			p.err = err
			p.mu.Unlock()
			return
		}
		p.n++
		p.mu.Unlock()
	}
}

func findAssoc(st admin.Status, front string) *admin.AssocStatus {
	for i := range st.Associations {
		if st.Associations[i].Front == front {
			return &st.Associations[i]
		}
	}
	return nil
}

// restartablePeer is an echo peer that can be killed (every association aborted,
// the listener closed) and started again on the same port.
type restartablePeer struct {
	addr  netip.AddrPort
	mu    sync.Mutex
	ln    *sctpsock.Listener
	conns []*sctpsock.Conn
}

func (p *restartablePeer) start(t *testing.T) {
	t.Helper()
	ln, err := sctpsock.Listen([]netip.AddrPort{p.addr}, sctpsock.Options{})
	if err != nil {
		t.Fatalf("listen %v: %v", p.addr, err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addrs()[0]
	p.mu.Unlock()
	go func() { // restartable-peer-accept
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, c)
			p.mu.Unlock()
			go echopeer.Serve(c)
		}
	}()
}

func (p *restartablePeer) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ln.Close()
	for _, c := range p.conns {
		c.Abort()
	}
	p.conns = nil
}

// TestOneToManyEnds: on the shared socket, one association's SHUTDOWN and another's
// ABORT end only those; the upstream peer dying aborts the associations relayed to
// it, and once it is back new applications are relayed on the same socket.
func TestOneToManyEnds(t *testing.T) {
	p := &restartablePeer{addr: netip.AddrPortFrom(loopback, 0)}
	p.start(t)
	t.Cleanup(p.kill)
	g := startGuard(t, relayConfig(p.addr, oneToMany(`quota {
    socket = "16MiB"
  }`)))
	a := dial(t, g.addr, sctpsock.Options{NoDelay: true})
	b := dial(t, g.addr, sctpsock.Options{NoDelay: true})
	c := dial(t, g.addr, sctpsock.Options{NoDelay: true})
	inode, _ := sharedInode(t, g)
	for _, x := range []*sctpsock.Conn{a, b, c} {
		mustEcho(t, x, "hello")
	}

	if err := a.Shutdown(); err != nil { // the side that shuts down reads SHUTDOWN_COMP, not EOF
		t.Fatal(err)
	}
	g.waitLog("association ended", 10*time.Second, "front", localAddr(t, a), "reason", "shutdown")
	mustEcho(t, b, "b after a's shutdown")
	mustEcho(t, c, "c after a's shutdown")

	bFront := localAddr(t, b)
	b.Abort()
	g.waitLog("association ended", 10*time.Second, "front", bFront, "reason", "peer_abort")
	mustEcho(t, c, "c after b's abort")

	p.kill()
	if _, err := readEnd(c, 20*time.Second); !errors.Is(err, sctpsock.ErrAborted) {
		t.Fatalf("c after the upstream peer died: %v, want ABORT", err)
	}
	p.start(t)
	d := dial(t, g.addr, sctpsock.Options{NoDelay: true})
	mustEcho(t, d, "d after the peer restarted")
	if again, n := sharedInode(t, g); again != inode || n != 1 {
		t.Fatalf("after the restart: socket %s with %d associations, want %s with 1", again, n, inode)
	}
	st := guardStatus(t, g)
	t.Logf("ended: %v; shared socket %+v", st.Relays[0].Totals.Ended, *st.Relays[0].Shared)
	if st.Relays[0].Totals.Ended["shutdown"] != 1 || st.Relays[0].Totals.Ended["peer_abort"] != 2 {
		t.Fatalf("ended %v, want 1 shutdown and 2 peer_abort", st.Relays[0].Totals.Ended)
	}
}

func mustEcho(t *testing.T, c *sctpsock.Conn, text string) {
	t.Helper()
	if err := c.WriteMsg(sctpsock.Msg{Data: []byte(text), PPID: 42, Stream: 1}); err != nil {
		t.Fatalf("write %q: %v", text, err)
	}
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	m, err := readData(c, make([]byte, 4096))
	if err != nil || string(m.Data) != text || m.PPID != 42 || m.Stream != 1 {
		t.Fatalf("echo of %q: %q ppid %d stream %d, %v", text, m.Data, m.PPID, m.Stream, err)
	}
}
