package kerneltest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"weak"

	"github.com/sctpguard/sctpguard/sctpsock"
)

var loopback = netip.MustParseAddrPort("127.0.0.1:0")

func listen(t *testing.T, addrs []netip.AddrPort, o sctpsock.Options) *sctpsock.Listener {
	t.Helper()
	l, err := sctpsock.Listen(addrs, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func dial(t *testing.T, remote []netip.AddrPort, o sctpsock.Options) *sctpsock.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := sctpsock.Dial(ctx, nil, remote, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// pair returns a connected client (dialer) and server (accepted) Conn.
func pair(t *testing.T, lo, do sctpsock.Options) (client, server *sctpsock.Conn) {
	t.Helper()
	l := listen(t, []netip.AddrPort{loopback}, lo)
	accepted := make(chan *sctpsock.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	client = dial(t, l.Addrs(), do)
	server = <-accepted
	if server == nil {
		t.FailNow()
	}
	t.Cleanup(func() { server.Close() })
	return client, server
}

// readData returns the next data message, skipping notifications.
func readData(t *testing.T, c *sctpsock.Conn, buf []byte) (sctpsock.Msg, error) {
	t.Helper()
	for {
		m, err := c.ReadMsg(buf)
		if err != nil || m.Notification == nil {
			return m, err
		}
	}
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

// raiseWmemMax lets SO_SNDBUF go to n bytes, so that a message of up to n
// bytes can be sent at all.
func raiseWmemMax(t *testing.T, n int) {
	t.Helper()
	const p = "/proc/sys/net/core/wmem_max"
	old, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if cur, _ := strconv.Atoi(strings.TrimSpace(string(old))); cur >= n {
		return
	}
	if os.Geteuid() != 0 {
		t.Skipf("needs root to raise %s to %d (runs as root in the rig's VM)", p, n)
	}
	if err := os.WriteFile(p, []byte(strconv.Itoa(n)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.WriteFile(p, old, 0o644) })
}

// TestRoundTrip sends messages up to 1 MiB: larger than the receiver's
// window (so the kernel delivers them in parts) and than its read buffer
// (so ReadMsg reassembles them up to MSG_EOR).
func TestRoundTrip(t *testing.T) {
	raiseWmemMax(t, 2<<20)
	client, server := pair(t, sctpsock.Options{MaxMessage: 2 << 20}, sctpsock.Options{NoDelay: true, SendBuffer: 2 << 20})
	msgs := []sctpsock.Msg{
		{Data: pattern(1, 1), Stream: 0, PPID: 46},
		{Data: pattern(1024, 2), Stream: 3, PPID: 0x01020304, Unordered: true},
		{Data: pattern(64<<10, 3), Stream: 15, PPID: 0xffffffff},
		{Data: pattern(1<<20, 4), Stream: 7, PPID: 0x80000000, Unordered: true},
	}
	errc := make(chan error, 1)
	go func() {
		for _, m := range msgs {
			if err := client.WriteMsg(m); err != nil {
				errc <- fmt.Errorf("write %d bytes: %w", len(m.Data), err)
				server.Close() // unblock the reader
				return
			}
		}
		errc <- nil
	}()
	buf := make([]byte, 4096) // smaller than most messages: ReadMsg must reassemble
	for i, want := range msgs {
		got, err := readData(t, server, buf)
		if err != nil {
			t.Fatalf("message %d: %v (writer: %v)", i, err, <-errc)
		}
		if !bytes.Equal(got.Data, want.Data) || got.Stream != want.Stream ||
			got.PPID != want.PPID || got.Unordered != want.Unordered {
			t.Fatalf("message %d: got %d bytes stream %d ppid %#x unordered %v; want %d bytes stream %d ppid %#x unordered %v",
				i, len(got.Data), got.Stream, got.PPID, got.Unordered, len(want.Data), want.Stream, want.PPID, want.Unordered)
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestWriteTooLong(t *testing.T) {
	client, _ := pair(t, sctpsock.Options{}, sctpsock.Options{SendBuffer: 64 << 10})
	err := client.WriteMsg(sctpsock.Msg{Data: make([]byte, 1<<20)})
	if !errors.Is(err, syscall.EMSGSIZE) || !strings.Contains(err.Error(), "exceeds the send buffer") {
		t.Fatalf("err = %v, want EMSGSIZE naming the send buffer", err)
	}
	t.Log(err)
}

func TestCommUpNotification(t *testing.T) {
	client, server := pair(t, sctpsock.Options{OutStreams: 5, MaxInStreams: 7}, sctpsock.Options{OutStreams: 9, MaxInStreams: 11})
	for name, c := range map[string]*sctpsock.Conn{"client": client, "server": server} {
		m, err := c.ReadMsg(nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n := m.Notification
		if n == nil || n.AssocChange == nil || n.AssocChange.State != sctpsock.CommUp {
			t.Fatalf("%s: first message %+v, want COMM_UP", name, m)
		}
		t.Logf("%s: %v", name, n)
	}
	st, err := client.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.State != sctpsock.StateEstablished || st.OutStreams != 7 || st.InStreams != 5 {
		t.Fatalf("client status %+v: want ESTABLISHED, out 7 (server accepts 7), in 5", st)
	}
}

func TestStatusAndAddrs(t *testing.T) {
	client, server := pair(t, sctpsock.Options{}, sctpsock.Options{})
	peers, err := client.PeerAddrs()
	if err != nil {
		t.Fatal(err)
	}
	locals, err := server.LocalAddrs()
	if err != nil {
		t.Fatal(err)
	}
	if len(peers) != 1 || len(locals) != 1 || peers[0] != locals[0] {
		t.Fatalf("client peer addrs %v, server local addrs %v: want the same one address", peers, locals)
	}
	st, err := client.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.Primary.Addr != peers[0] || st.Primary.State != sctpsock.PathActive || st.Primary.MTU == 0 || st.PeerRwnd == 0 {
		t.Fatalf("status %+v", st)
	}
}

func TestTooLarge(t *testing.T) {
	client, server := pair(t, sctpsock.Options{MaxMessage: 1000}, sctpsock.Options{})
	if err := client.WriteMsg(sctpsock.Msg{Data: pattern(1000, 0)}); err != nil {
		t.Fatal(err)
	}
	if err := client.WriteMsg(sctpsock.Msg{Data: pattern(2000, 0)}); err != nil {
		t.Fatal(err)
	}
	if m, err := readData(t, server, nil); err != nil || len(m.Data) != 1000 {
		t.Fatalf("exactly MaxMessage: %d bytes, %v", len(m.Data), err)
	}
	_, err := readData(t, server, make([]byte, 1<<20))
	var tl *sctpsock.TooLargeError
	if !errors.Is(err, sctpsock.ErrMessageTooLarge) || !errors.As(err, &tl) || tl.Read != 1000 {
		t.Fatalf("err = %v, want a TooLargeError after 1000 bytes", err)
	}
	if _, err2 := server.ReadMsg(nil); !errors.Is(err2, sctpsock.ErrMessageTooLarge) {
		t.Fatalf("second read: %v, want the same error again", err2)
	}
}

func TestShutdownEOF(t *testing.T) {
	client, server := pair(t, sctpsock.Options{}, sctpsock.Options{})
	const n = 20
	for i := range n {
		if err := client.WriteMsg(sctpsock.Msg{Data: []byte(strconv.Itoa(i)), Stream: uint16(i % 4)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := client.Shutdown(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	var sawShutdown bool
	for i := 0; ; {
		m, err := server.ReadMsg(buf)
		if errors.Is(err, io.EOF) {
			if i != n || !sawShutdown {
				t.Fatalf("EOF after %d messages, shutdown notification %v", i, sawShutdown)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.Notification != nil {
			sawShutdown = sawShutdown || m.Notification.Shutdown
			continue
		}
		if string(m.Data) != strconv.Itoa(i) {
			t.Fatalf("message %d: %q", i, m.Data)
		}
		i++
	}
	if _, err := client.ReadMsg(buf); err != nil && !errors.Is(err, io.EOF) {
		t.Logf("client read after shutdown: %v", err)
	}
}

func TestAbort(t *testing.T) {
	client, server := pair(t, sctpsock.Options{}, sctpsock.Options{})
	if err := client.Abort(); err != nil {
		t.Fatal(err)
	}
	var lost bool
	for {
		m, err := server.ReadMsg(nil)
		if err != nil {
			if !errors.Is(err, sctpsock.ErrAborted) || !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("err = %v, want ErrAborted and ECONNRESET", err)
			}
			t.Logf("server: %v", err)
			break
		}
		if a := m.Notification.AssocChange; a != nil && a.State == sctpsock.CommLost {
			lost = true
		}
	}
	if !lost {
		t.Error("no COMM_LOST notification before the error")
	}
	if err := client.WriteMsg(sctpsock.Msg{Data: []byte("x")}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after Abort: %v, want net.ErrClosed", err)
	}
}

func TestDialRefused(t *testing.T) {
	l := listen(t, []netip.AddrPort{loopback}, sctpsock.Options{})
	addrs := l.Addrs()
	l.Close()
	_, err := sctpsock.Dial(context.Background(), nil, addrs, sctpsock.Options{InitTimeout: 5 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "refused") || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("err = %v, want refused", err)
	}
	t.Log(err)
}

// blackhole makes addr a peer that never answers: a veth pair whose far end
// has no address, and a permanent neighbour entry so that packets to addr
// leave without ARP and are dropped on arrival.
//
//	198.18.0.1/24 [sgv0] ====veth==== [sgv1] (no address: drops all)
//	neighbour 198.18.0.2 -> 02:00:00:00:00:02 (permanent)
func blackhole(t *testing.T) netip.Addr {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a veth pair (runs as root in the rig's VM)")
	}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	run("link", "add", "sgv0", "type", "veth", "peer", "name", "sgv1")
	t.Cleanup(func() { exec.Command("ip", "link", "del", "sgv0").Run() })
	run("addr", "add", "198.18.0.1/24", "dev", "sgv0")
	run("link", "set", "sgv0", "up")
	run("link", "set", "sgv1", "up")
	run("neigh", "add", "198.18.0.2", "lladdr", "02:00:00:00:00:02", "dev", "sgv0", "nud", "permanent")
	return netip.MustParseAddr("198.18.0.2")
}

func TestDialTimeout(t *testing.T) {
	remote := []netip.AddrPort{netip.AddrPortFrom(blackhole(t), 3868)}
	start := time.Now()
	_, err := sctpsock.Dial(context.Background(), nil, remote, sctpsock.Options{InitTimeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "no answer to INIT within 1s") || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("err = %v, want no answer to INIT within 1s", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v", d)
	}
	t.Log(err)

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = sctpsock.Dial(ctx, nil, remote, sctpsock.Options{InitTimeout: time.Minute})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer to INIT") {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
}

func TestCloseUnblocks(t *testing.T) {
	client, _ := pair(t, sctpsock.Options{}, sctpsock.Options{})
	if _, err := client.ReadMsg(nil); err != nil { // COMM_UP
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { _, err := client.ReadMsg(nil); errc <- err }()
	time.Sleep(100 * time.Millisecond)
	client.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock ReadMsg")
	}

	l := listen(t, []netip.AddrPort{loopback}, sctpsock.Options{})
	go func() { _, err := l.Accept(); errc <- err }()
	time.Sleep(100 * time.Millisecond)
	l.Close()
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("accept: %v, want net.ErrClosed", err)
	}
}

func TestReadDeadline(t *testing.T) {
	client, _ := pair(t, sctpsock.Options{}, sctpsock.Options{})
	client.ReadMsg(nil) // COMM_UP
	client.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := client.ReadMsg(nil); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	client.SetReadDeadline(time.Time{})
}

func TestMultiHomedListen(t *testing.T) {
	addrs := []netip.AddrPort{loopback, netip.MustParseAddrPort("127.0.0.2:0")}
	l := listen(t, addrs, sctpsock.Options{})
	got := l.Addrs()
	if len(got) != 2 || got[0].Port() == 0 || got[0].Port() != got[1].Port() {
		t.Fatalf("Addrs() = %v, want two addresses on one chosen port", got)
	}
	go func() {
		if c, err := l.Accept(); err == nil {
			defer c.Close()
			c.ReadMsg(nil)
		}
	}()
	c := dial(t, got, sctpsock.Options{})
	peers, err := c.PeerAddrs()
	if err != nil || len(peers) != 2 {
		t.Fatalf("peer addrs %v, %v: want both", peers, err)
	}
	if _, err := sctpsock.Listen([]netip.AddrPort{loopback, netip.MustParseAddrPort("127.0.0.2:1")}, sctpsock.Options{}); err == nil {
		t.Fatal("listen on two ports: want an error")
	}
}

func TestIPv6(t *testing.T) {
	l := listen(t, []netip.AddrPort{netip.MustParseAddrPort("[::1]:0")}, sctpsock.Options{})
	go func() {
		if c, err := l.Accept(); err == nil {
			defer c.Close()
			if m, err := readData(t, c, nil); err == nil {
				c.WriteMsg(m)
			}
		}
	}()
	c := dial(t, l.Addrs(), sctpsock.Options{})
	if err := c.WriteMsg(sctpsock.Msg{Data: []byte("v6"), PPID: 60}); err != nil {
		t.Fatal(err)
	}
	m, err := readData(t, c, nil)
	if err != nil || string(m.Data) != "v6" || m.PPID != 60 {
		t.Fatalf("echo: %+v, %v", m, err)
	}
}

func TestSteadyStateAllocs(t *testing.T) {
	client, server := pair(t, sctpsock.Options{}, sctpsock.Options{NoDelay: true})
	server.ReadMsg(nil) // COMM_UP
	buf := make([]byte, 2048)
	msg := sctpsock.Msg{Data: pattern(1000, 0), Stream: 1, PPID: 46}
	allocs := testing.AllocsPerRun(200, func() {
		if err := client.WriteMsg(msg); err != nil {
			t.Fatal(err)
		}
		if m, err := server.ReadMsg(buf); err != nil || len(m.Data) != 1000 {
			t.Fatalf("%d bytes, %v", len(m.Data), err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per write+read, want 0", allocs)
	}
}

func threads(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no Threads line in /proc/self/status")
	return 0
}

// TestIdleConnsParkOnPoller: many Conns blocked in ReadMsg must not hold an
// OS thread each.
func TestIdleConnsParkOnPoller(t *testing.T) {
	const n = 300
	l := listen(t, []netip.AddrPort{loopback}, sctpsock.Options{})
	before := threads(t)
	done := make(chan error, 2*n)
	for range n {
		go func() {
			c, err := l.Accept()
			if err != nil {
				done <- err
				return
			}
			t.Cleanup(func() { c.Close() })
			_, err = readData(t, c, nil)
			done <- err
		}()
		c := dial(t, l.Addrs(), sctpsock.Options{})
		go func() { _, err := readData(t, c, nil); done <- err }()
	}
	time.Sleep(500 * time.Millisecond)
	after := threads(t)
	t.Logf("threads: %d before, %d with %d conns blocked in ReadMsg", before, after, 2*n)
	if after-before > 20 {
		t.Fatalf("threads grew from %d to %d for %d idle conns", before, after, 2*n)
	}
	select {
	case err := <-done:
		t.Fatalf("a reader ended early: %v", err)
	default:
	}
}

// TryWriteMsg fills a send buffer toward a receiver that does not read and then
// says ErrWouldBlock at once, where WriteMsg would wait; once the receiver
// reads, it writes again, and every message arrives once, in order.
func TestTryWriteMsg(t *testing.T) {
	client, server := pair(t, sctpsock.Options{RecvBuffer: 64 << 10}, sctpsock.Options{SendBuffer: 32 << 10, NoDelay: true})
	msg := pattern(1000, 1)
	sent := 0
	start := time.Now()
	for {
		msg[0] = byte(sent)
		err := client.TryWriteMsg(sctpsock.Msg{Data: msg, PPID: 7})
		if errors.Is(err, sctpsock.ErrWouldBlock) {
			break
		}
		if err != nil {
			t.Fatalf("try write %d: %v", sent, err)
		}
		sent++
		if time.Since(start) > 30*time.Second {
			t.Fatalf("%d messages written toward a receiver that reads nothing, and no ErrWouldBlock", sent)
		}
	}
	if sent == 0 {
		t.Fatal("ErrWouldBlock before the first message")
	}
	t.Logf("%d messages of %d bytes written before ErrWouldBlock", sent, len(msg))
	done := make(chan error, 1)
	go func() { // the receiver reads what was sent and one more
		buf := make([]byte, 2048)
		for i := range sent + 1 {
			server.SetReadDeadline(time.Now().Add(30 * time.Second))
			m, err := readData(t, server, buf)
			if err != nil {
				done <- fmt.Errorf("read %d: %w", i, err)
				return
			}
			if m.Data[0] != byte(i) || m.PPID != 7 {
				done <- fmt.Errorf("message %d: first byte %d, PPID %d", i, m.Data[0], m.PPID)
				return
			}
		}
		done <- nil
	}()
	msg[0] = byte(sent)
	if err := client.WriteMsg(sctpsock.Msg{Data: msg, PPID: 7}); err != nil {
		t.Fatalf("write after ErrWouldBlock: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestConnLetsGoOfBuffers: once a read or a write returns, the Conn holds no
// reference to the caller's buffer, so that an idle association does not keep
// alive the last buffer it read into or wrote from (a pooled read buffer, a
// burst's backlog).
func TestConnLetsGoOfBuffers(t *testing.T) {
	client, server := pair(t, sctpsock.Options{}, sctpsock.Options{NoDelay: true})
	wbuf, rbuf := new([64 << 10]byte), new([64 << 10]byte)
	copy(wbuf[:], "hello")
	if err := client.WriteMsg(sctpsock.Msg{Data: wbuf[:5], PPID: 1}); err != nil {
		t.Fatal(err)
	}
	server.SetReadDeadline(time.Now().Add(10 * time.Second))
	if m, err := readData(t, server, rbuf[:]); err != nil || string(m.Data) != "hello" {
		t.Fatalf("read %q: %v", m.Data, err)
	}
	wrote, read := weak.Make(wbuf), weak.Make(rbuf)
	wbuf, rbuf = nil, nil
	runtime.GC()
	runtime.GC()
	if wrote.Value() != nil {
		t.Error("the writing Conn keeps the buffer of its last write alive")
	}
	if read.Value() != nil {
		t.Error("the reading Conn keeps the buffer of its last read alive")
	}
	runtime.KeepAlive(client)
	runtime.KeepAlive(server)
}
