package kerneltest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// manyPeer is one peer endpoint for a Many: a listener whose single accepted
// association echoes data and reports how it ended.
type manyPeer struct {
	ln    *sctpsock.Listener
	ended chan error // io.EOF after SHUTDOWN, ErrAborted after ABORT
}

func startManyPeer(t *testing.T) *manyPeer {
	t.Helper()
	p := &manyPeer{ln: listen(t, []netip.AddrPort{loopback}, sctpsock.Options{OutStreams: 8, MaxInStreams: 8}), ended: make(chan error, 1)}
	go func() {
		c, err := p.ln.Accept()
		if err != nil {
			p.ended <- err
			return
		}
		defer c.Close()
		buf := make([]byte, 64<<10)
		for {
			m, err := c.ReadMsg(buf)
			if err != nil {
				p.ended <- err
				return
			}
			if m.Notification == nil && c.WriteMsg(m) != nil {
				continue // the end shows on the next read
			}
		}
	}()
	return p
}

// demux reads a Many in one goroutine and hands every message and notification
// to its association's channel.
type demux struct {
	mu       sync.Mutex
	chs      map[int32]chan sctpsock.Msg
	tooLarge chan *sctpsock.TooLargeError // messages over MaxMessage, dropped
}

func (d *demux) add(id int32) chan sctpsock.Msg {
	ch := make(chan sctpsock.Msg, 256)
	d.chs[id] = ch
	return ch
}

func (d *demux) run(m *sctpsock.Many) {
	buf := make([]byte, 64<<10)
	for {
		msg, err := m.ReadMsg(buf)
		if tl, ok := errors.AsType[*sctpsock.TooLargeError](err); ok && d.tooLarge != nil {
			d.tooLarge <- tl
			continue
		}
		if err != nil {
			return
		}
		msg.Data = bytes.Clone(msg.Data)
		d.mu.Lock()
		ch := d.chs[msg.AssocID]
		d.mu.Unlock()
		if ch != nil {
			ch <- msg
		}
	}
}

// connect starts an association and registers it before the reader can see
// its COMM_UP, then waits for that event.
func (d *demux) connect(t *testing.T, m *sctpsock.Many, to netip.AddrPort) (int32, chan sctpsock.Msg) {
	t.Helper()
	d.mu.Lock()
	id, err := m.Connect([]netip.AddrPort{to})
	if err != nil {
		d.mu.Unlock()
		t.Fatalf("connect %v: %v", to, err)
	}
	ch := d.add(id)
	d.mu.Unlock()
	for {
		n := next(t, ch).Notification
		if n != nil && n.AssocChange != nil {
			if n.AssocChange.State != sctpsock.CommUp {
				t.Fatalf("association %d to %v: %v", id, to, n)
			}
			return id, ch
		}
	}
}

func next(t *testing.T, ch chan sctpsock.Msg) sctpsock.Msg {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("nothing arrived within 10s")
	}
	return sctpsock.Msg{}
}

func nextData(t *testing.T, ch chan sctpsock.Msg) sctpsock.Msg {
	t.Helper()
	for {
		if m := next(t, ch); m.Notification == nil {
			return m
		}
	}
}

// TestManyAssociations: one one-to-many socket holds associations to four peer
// endpoints at once (one socket inode in /proc/net/sctp/assocs), every message
// comes back on its own association intact (size, stream, PPID, unordered), a
// graceful end and an ABORT of one association leave the others running, and a
// second association to a peer endpoint already associated is refused.
func TestManyAssociations(t *testing.T) {
	const n = 4
	m, err := sctpsock.OpenMany([]netip.AddrPort{loopback}, sctpsock.Options{OutStreams: 8, MaxInStreams: 8, NoDelay: true})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	d := &demux{chs: map[int32]chan sctpsock.Msg{}}
	go d.run(m)
	peers := make([]*manyPeer, n)
	ids := make([]int32, n)
	chs := make([]chan sctpsock.Msg, n)
	for i := range n {
		peers[i] = startManyPeer(t)
		ids[i], chs[i] = d.connect(t, m, peers[i].ln.Addrs()[0])
	}
	if got := assocsOfSocket(t, m); got != n {
		t.Fatalf("/proc/net/sctp/assocs lists %d associations for the socket, want %d", got, n)
	}
	echoRound(t, m, ids, chs, nil)

	_, err = m.Connect(peers[0].ln.Addrs())
	if !errors.Is(err, sctpsock.ErrAssocExists) {
		t.Fatalf("second association to %v: %v, want ErrAssocExists", peers[0].ln.Addrs()[0], err)
	}
	t.Logf("second association to the same peer endpoint: %v", err)

	if err := m.Shutdown(ids[0]); err != nil {
		t.Fatal(err)
	}
	if err := <-peers[0].ended; !errors.Is(err, io.EOF) {
		t.Fatalf("peer 0 saw %v after Shutdown, want io.EOF", err)
	}
	waitAssocChange(t, chs[0], sctpsock.ShutdownComplete)
	if err := m.Abort(ids[1]); err != nil {
		t.Fatal(err)
	}
	if err := <-peers[1].ended; !errors.Is(err, sctpsock.ErrAborted) {
		t.Fatalf("peer 1 saw %v after Abort, want ErrAborted", err)
	}
	echoRound(t, m, ids, chs, map[int]bool{0: true, 1: true})
	if _, err := m.Status(ids[1]); !errors.Is(err, sctpsock.ErrNoAssoc) {
		t.Fatalf("status of the aborted association: %v, want ErrNoAssoc", err)
	}
	if err := m.WriteMsg(ids[0], sctpsock.Msg{Data: []byte("late")}); err == nil {
		t.Fatal("write to an ended association succeeded")
	} else {
		t.Logf("write to an ended association: %v", err)
	}
	st, err := m.Status(ids[2])
	if err != nil || st.State != sctpsock.StateEstablished || st.AssocID != ids[2] {
		t.Fatalf("status of association %d: %+v, %v", ids[2], st, err)
	}
	paths, err := m.Paths(ids[3])
	if err != nil || len(paths) != 1 || paths[0].Addr != peers[3].ln.Addrs()[0] || paths[0].State != sctpsock.PathActive {
		t.Fatalf("paths of association %d: %+v, %v", ids[3], paths, err)
	}
	if err := m.SetPathOptions(ids[3], sctpsock.PathOptions{HeartbeatInterval: 700 * time.Millisecond, MaxRetransmissions: 3}); err != nil {
		t.Fatal(err)
	}
}

// echoRound sends messages of several sizes, streams, PPIDs and both orderings on
// every live association, interleaved, and checks each comes back whole on its own.
func echoRound(t *testing.T, m *sctpsock.Many, ids []int32, chs []chan sctpsock.Msg, skip map[int]bool) {
	t.Helper()
	for k, size := range []int{1, 1000, 20000} {
		for i, id := range ids {
			if skip[i] {
				continue
			}
			want := sctpsock.Msg{Data: bytes.Repeat([]byte{byte(i)}, size), Stream: uint16(k + i), PPID: uint32(1000*i + k), Unordered: k == 1}
			if err := m.WriteMsg(id, want); err != nil {
				t.Fatalf("write %d B to association %d: %v", size, id, err)
			}
		}
		for i, id := range ids {
			if skip[i] {
				continue
			}
			got := nextData(t, chs[i])
			if got.AssocID != id || len(got.Data) != size || got.Data[0] != byte(i) || got.Data[size-1] != byte(i) ||
				got.Stream != uint16(k+i) || got.PPID != uint32(1000*i+k) || got.Unordered != (k == 1) {
				t.Fatalf("association %d: got assoc %d, %d B of %d, stream %d ppid %d unordered %v", id, got.AssocID,
					len(got.Data), got.Data[0], got.Stream, got.PPID, got.Unordered)
			}
		}
	}
}

func waitAssocChange(t *testing.T, ch chan sctpsock.Msg, want sctpsock.AssocChangeState) {
	t.Helper()
	for {
		n := next(t, ch).Notification
		if n != nil && n.AssocChange != nil {
			if n.AssocChange.State != want {
				t.Fatalf("assoc change %v, want %v", n.AssocChange.State, want)
			}
			return
		}
	}
}

// assocsOfSocket counts the rows of /proc/net/sctp/assocs whose INODE is m's socket.
func assocsOfSocket(t *testing.T, m *sctpsock.Many) int {
	t.Helper()
	port := m.LocalAddrs()[0].Port()
	b, err := os.ReadFile("/proc/net/sctp/assocs")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	head := strings.Fields(lines[0])
	col := func(name string) int {
		for i, h := range head {
			if h == name {
				return i
			}
		}
		t.Fatalf("no %s column in %q", name, lines[0])
		return -1
	}
	ino, lport, id := col("INODE"), col("LPORT"), col("ASSOC-ID")
	inodes := map[string]int{}
	seen := map[string]bool{} // a walk of the kernel's table across reads may repeat a row
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) > max(ino, lport, id) && f[lport] == strconv.Itoa(int(port)) && !seen[f[ino]+"/"+f[id]] {
			seen[f[ino]+"/"+f[id]] = true
			inodes[f[ino]]++
		}
	}
	if len(inodes) != 1 {
		t.Fatalf("associations from port %d sit on %d sockets: %v", port, len(inodes), inodes)
	}
	for _, n := range inodes {
		return n
	}
	return 0
}

// TestManyToSCTPTest: lksctp-tools' sctp_test servers as the peers of one
// one-to-many socket: each logs the messages sent on its own association, with
// their sizes, PPIDs and the unordered flag.
func TestManyToSCTPTest(t *testing.T) {
	m, err := sctpsock.OpenMany([]netip.AddrPort{loopback}, sctpsock.Options{NoDelay: true})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	d := &demux{chs: map[int32]chan sctpsock.Msg{}}
	go d.run(m)
	var logs []string
	var ids []int32
	for range 2 {
		port := freePortMany(t)
		logPath := filepath.Join(t.TempDir(), "sctp_test.log")
		f, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("stdbuf", "-oL", "sctp_test", "-H", "127.0.0.1", "-P", strconv.Itoa(port), "-l")
		cmd.Stdout, cmd.Stderr = f, f
		if err := cmd.Start(); err != nil {
			t.Fatalf("sctp_test (lksctp-tools) is needed: %v", err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); f.Close() })
		id := connectRetry(t, d, m, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)))
		logs, ids = append(logs, logPath), append(ids, id)
	}
	for i, id := range ids {
		for k := range 3 {
			msg := sctpsock.Msg{Data: bytes.Repeat([]byte{'a' + byte(i)}, 10*(i+1)+k), PPID: uint32(7000 + 10*i + k), Unordered: k == 2}
			if err := m.WriteMsg(id, msg); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, path := range logs {
		// sctp_test prints a message's SNDRCV line after its "Data" line: wait
		// for the last message's, not for three "Data" lines.
		unordered := fmt.Sprintf("flags=0x1 ppid=%d", bits.ReverseBytes32(uint32(7000+10*i+2)))
		var text string
		for range 100 {
			b, _ := os.ReadFile(path)
			if text = string(b); strings.Count(text, "Data ") >= 3 && strings.Contains(text, unordered) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		for k := range 3 {
			// sctp_test prints the PPID's wire bytes read in host order.
			size := fmt.Sprintf("Data %d bytes", 10*(i+1)+k)
			if !strings.Contains(text, size) {
				t.Fatalf("sctp_test %d did not log %q:\n%s", i, size, text)
			}
		}
		if !strings.Contains(text, unordered) {
			t.Fatalf("sctp_test %d did not log the unordered message with its PPID (%q):\n%s", i, unordered, text)
		}
		if strings.Count(text, "Data ") != 3 {
			t.Fatalf("sctp_test %d logged %d messages, want its own 3:\n%s", i, strings.Count(text, "Data "), text)
		}
	}
}

// connectRetry connects once the server has started listening.
func connectRetry(t *testing.T, d *demux, m *sctpsock.Many, to netip.AddrPort) int32 {
	t.Helper()
	for range 100 {
		d.mu.Lock()
		id, err := m.Connect([]netip.AddrPort{to})
		if err != nil {
			d.mu.Unlock()
			t.Fatal(err)
		}
		ch := d.add(id)
		d.mu.Unlock()
		for {
			n := next(t, ch).Notification
			if n == nil || n.AssocChange == nil {
				continue
			}
			if n.AssocChange.State == sctpsock.CommUp {
				return id
			}
			break // CANT_STR_ASSOC: not listening yet
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no association to %v", to)
	return 0
}

func freePortMany(t *testing.T) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_SCTP)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return sa.(*unix.SockaddrInet4).Port
}

// TestManyTooLarge: a message over MaxMessage on one association is dropped with a
// TooLargeError naming that association; the socket reads on, and the next
// messages of it and of another association arrive whole.
func TestManyTooLarge(t *testing.T) {
	m, err := sctpsock.OpenMany([]netip.AddrPort{loopback}, sctpsock.Options{NoDelay: true, MaxMessage: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	d := &demux{chs: map[int32]chan sctpsock.Msg{}, tooLarge: make(chan *sctpsock.TooLargeError, 1)}
	go d.run(m)
	a, b := startManyPeer(t), startManyPeer(t)
	ida, cha := d.connect(t, m, a.ln.Addrs()[0])
	idb, chb := d.connect(t, m, b.ln.Addrs()[0])
	for _, msg := range []sctpsock.Msg{{Data: pattern(50000, 1)}, {Data: []byte("after")}} {
		if err := m.WriteMsg(ida, msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.WriteMsg(idb, sctpsock.Msg{Data: []byte("other")}); err != nil {
		t.Fatal(err)
	}
	select {
	case tl := <-d.tooLarge:
		if tl.AssocID != ida {
			t.Fatalf("too large message named association %d, want %d", tl.AssocID, ida)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no TooLargeError")
	}
	if got := nextData(t, cha); string(got.Data) != "after" {
		t.Fatalf("association a: next message %q, want \"after\"", got.Data)
	}
	if got := nextData(t, chb); string(got.Data) != "other" {
		t.Fatalf("association b: %q, want \"other\"", got.Data)
	}
}

// TestListenMany: applications dial a listening one-to-many socket; each of their
// associations appears as a COMM_UP with a new id and is echoed on its own. After
// StopListening a new association is refused while the live ones go on.
func TestListenMany(t *testing.T) {
	m, err := sctpsock.ListenMany([]netip.AddrPort{loopback}, sctpsock.Options{NoDelay: true})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	up := make(chan int32, 8)
	go func() { // echo by id
		buf := make([]byte, 64<<10)
		for {
			msg, err := m.ReadMsg(buf)
			if err != nil {
				return
			}
			if n := msg.Notification; n != nil {
				if n.AssocChange != nil && n.AssocChange.State == sctpsock.CommUp {
					up <- n.AssocID
				}
				continue
			}
			m.WriteMsg(msg.AssocID, msg)
		}
	}()
	var clients []*sctpsock.Conn
	ids := map[int32]bool{}
	for range 3 {
		clients = append(clients, dial(t, m.LocalAddrs(), sctpsock.Options{NoDelay: true}))
		ids[<-up] = true
	}
	if len(ids) != 3 || assocsOfSocket(t, m) != 3 {
		t.Fatalf("3 clients gave ids %v and %d associations on the socket", ids, assocsOfSocket(t, m))
	}
	if err := m.StopListening(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if c, err := sctpsock.Dial(ctx, nil, m.LocalAddrs(), sctpsock.Options{}); err == nil {
		c.Close()
		t.Fatal("a new association was accepted after StopListening")
	} else {
		t.Logf("after StopListening: %v", err)
	}
	buf := make([]byte, 1024)
	for i, c := range clients {
		want := fmt.Sprintf("client %d", i)
		if err := c.WriteMsg(sctpsock.Msg{Data: []byte(want), PPID: uint32(i)}); err != nil {
			t.Fatal(err)
		}
		got, err := readData(t, c, buf)
		if err != nil || string(got.Data) != want || got.PPID != uint32(i) {
			t.Fatalf("client %d: %q ppid %d, %v", i, got.Data, got.PPID, err)
		}
	}
}
