package integration

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/admin"
	"github.com/sctpguard/sctpguard/sctpsock"
	"github.com/sctpguard/sctpguard/test/echopeer"
)

// Operations: live reload, graceful stop, status and metrics, as an operator sees them.

const (
	ppidFlow  = 1 // numbered messages of the flow under test
	ppidProbe = 2 // a message that proves a relay works
)

// flowPeer is an upstream peer that checks numbered messages arrive once and in
// order, and hands probe messages to probes. gate, if not nil, holds every read
// until it is closed.
type flowPeer struct {
	*peer
	arrived atomic.Int64
	bad     atomic.Value // string: the first message out of order
	probes  chan string
	ended   chan error // how the flow's association ended
}

func startFlowPeer(t *testing.T, gate <-chan struct{}) *flowPeer {
	f := &flowPeer{probes: make(chan string, 16), ended: make(chan error, 16)}
	f.peer = startPeer(t, sctpsock.Options{}, func(c *sctpsock.Conn) {
		defer c.Close()
		if gate != nil {
			<-gate
		}
		f.ended <- f.read(c)
	})
	return f
}

func (f *flowPeer) read(c *sctpsock.Conn) error {
	buf := make([]byte, 64<<10)
	for {
		m, err := readData(c, buf)
		if err != nil {
			return err
		}
		if m.PPID == ppidProbe {
			f.probes <- string(m.Data)
			continue
		}
		seq := int64(binary.BigEndian.Uint32(m.Data))
		if want := f.arrived.Load(); seq != want {
			f.bad.CompareAndSwap(nil, fmt.Sprintf("message %d arrived when %d was due", seq, want))
		}
		f.arrived.Add(1)
	}
}

func (f *flowPeer) check(t *testing.T, sent int64) {
	t.Helper()
	if b := f.bad.Load(); b != nil {
		t.Fatalf("out of order: %s", b)
	}
	if got := f.arrived.Load(); got != sent {
		t.Fatalf("upstream received %d messages; the application sent %d", got, sent)
	}
}

// sender writes numbered messages of size bytes until stop is closed or a write
// fails; sent counts the writes that succeeded.
type sender struct {
	sent atomic.Int64
	err  error
	done chan struct{}
}

func startSender(c *sctpsock.Conn, size int, stop <-chan struct{}) *sender {
	s := &sender{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		msg := make([]byte, size)
		for {
			select {
			case <-stop:
				return
			default:
			}
			binary.BigEndian.PutUint32(msg, uint32(s.sent.Load()))
			if err := c.WriteMsg(sctpsock.Msg{Data: msg, PPID: ppidFlow}); err != nil {
				s.err = err
				return
			}
			s.sent.Add(1)
		}
	}()
	return s
}

// rewrite replaces the guard's configuration file.
func (g *guard) rewrite(t *testing.T, cfg string) {
	t.Helper()
	cfg = strings.ReplaceAll(cfg, "%ADMIN%", filepath.Join(g.dir, "admin.sock"))
	if err := os.WriteFile(filepath.Join(g.dir, "sctpguard.hcl"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (g *guard) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := g.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// exit waits for the process to end and returns its exit code and how long it took.
func (g *guard) exit(t *testing.T, timeout time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	select {
	case <-g.done:
	case <-time.After(timeout):
		t.Fatalf("sctpguard still running %v after the signal", timeout)
	}
	g.cmd.Wait()
	return g.cmd.ProcessState.ExitCode(), time.Since(start)
}

// statusCLI runs `sctpguard status --json` as an operator would.
func (g *guard) statusCLI(t *testing.T) admin.Status {
	t.Helper()
	out, err := exec.Command(os.Getenv(binEnv), "status", "--json", "-s", filepath.Join(g.dir, "admin.sock")).Output()
	if err != nil {
		t.Fatalf("sctpguard status --json: %v", err)
	}
	var st admin.Status
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("status JSON: %v\n%s", err, out)
	}
	return st
}

func quotaOf(st admin.Status, relay string) int64 {
	for _, a := range st.Associations {
		if a.Relay == relay {
			return a.Quota
		}
	}
	return -1
}

// TestReloadUnderTraffic: while numbered messages flow, SIGHUP raises the quota (in
// status within 1 s), an invalid file is refused with its problems logged and
// changes nothing, a relay is added and works, and one is removed; not a message is
// lost or reordered.
func TestReloadUnderTraffic(t *testing.T) {
	up := startFlowPeer(t, nil)
	base := relayConfig(up.addr, `quota { association = "1MiB" }`)
	g := startGuard(t, base)
	c := dial(t, g.addr, sctpsock.Options{NoDelay: true})
	stop := make(chan struct{})
	s := startSender(c, 100, stop)
	eventually(t, "first messages relayed", 30*time.Second, func() bool { return up.arrived.Load() > 500 })

	// A bigger quota, in force for the live association within a second.
	g.rewrite(t, relayConfig(up.addr, `quota { association = "3MiB" }`))
	g.signal(t, syscall.SIGHUP)
	took := eventually(t, "new quota in status", 5*time.Second, func() bool { return quotaOf(guardStatus(t, g), "test") == 3<<20 })
	t.Logf("new quota visible in status %v after SIGHUP", took.Round(time.Millisecond))
	if took > time.Second {
		t.Errorf("new quota took %v to show in status; want within 1s", took)
	}
	if q := quotaOf(g.statusCLI(t), "test"); q != 3<<20 {
		t.Errorf("sctpguard status --json shows quota %d, want %d", q, 3<<20)
	}

	// An invalid file: refused, every problem logged, nothing changed.
	g.rewrite(t, strings.Replace(base, `association = "1MiB"`, `association = "lots"`, 1))
	g.signal(t, syscall.SIGHUP)
	g.waitLog("reload refused; the running configuration stays", 10*time.Second, "problems", "1")
	g.waitLog("reload refused: invalid configuration", time.Second, "problem", "quota.association")
	before := up.arrived.Load()
	eventually(t, "traffic after the refused reload", 30*time.Second, func() bool { return up.arrived.Load() > before+500 })
	if q := quotaOf(guardStatus(t, g), "test"); q != 3<<20 {
		t.Errorf("quota after a refused reload is %d, want it kept at %d", q, 3<<20)
	}

	// A relay added by reload works at once.
	second := fmt.Sprintf(`relay "second" {
  listen   = ["127.0.0.1:0"]
  upstream = [%q]
}
`, up.addr.String())
	g.rewrite(t, second+relayConfig(up.addr, `quota { association = "3MiB" }`))
	g.signal(t, syscall.SIGHUP)
	e := g.waitLog("listening", 10*time.Second, "@module", "second")
	c2 := dial(t, addrOf(t, e), sctpsock.Options{})
	if err := c2.WriteMsg(sctpsock.Msg{Data: []byte("via second"), PPID: ppidProbe}); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-up.probes:
		if p != "via second" {
			t.Fatalf("probe through the added relay arrived as %q", p)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no message through the relay added by reload")
	}

	// Removed again: it drains; the first relay's flow goes on.
	g.rewrite(t, relayConfig(up.addr, `quota { association = "3MiB" }`))
	g.signal(t, syscall.SIGHUP)
	g.waitLog("relay removed: draining", 10*time.Second, "relay", "second")
	if _, err := readEnd(c2, 20*time.Second); !errors.Is(err, io.EOF) {
		t.Errorf("client of the removed relay: association ended with %v, want SHUTDOWN (EOF)", err)
	}

	close(stop)
	<-s.done
	if s.err != nil {
		t.Fatalf("sender: %v", s.err)
	}
	c.Shutdown()
	eventually(t, "every message relayed", 60*time.Second, func() bool { return up.arrived.Load() >= s.sent.Load() })
	time.Sleep(200 * time.Millisecond) // a duplicate would arrive now
	up.check(t, s.sent.Load())
	t.Logf("%d messages relayed across 4 reloads", s.sent.Load())
	if n := g.countLog("configuration reloaded"); n != 3 {
		t.Errorf("%d reloads logged as done, want 3", n)
	}
}

// addrOf parses the first address of a "listening" log line.
func addrOf(t *testing.T, e map[string]any) netip.AddrPort {
	t.Helper()
	s := strings.Fields(strings.Trim(fmt.Sprint(e["addrs"]), "[]"))[0]
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		t.Fatalf("listening line %v: %v", e, err)
	}
	return ap
}

// stalledFlow starts a guard toward an upstream that reads nothing until release
// is closed, and a client that sends 1 KiB messages until sctpguard stops taking
// them; extra goes into the config.
func stalledFlow(t *testing.T, extra string) (*guard, *flowPeer, *sctpsock.Conn, *sender, chan struct{}) {
	release := make(chan struct{})
	up := startFlowPeer(t, release)
	g := startGuard(t, relayConfig(up.addr, "max_message = \"64KiB\"\n  quota { association = \"260KiB\" }")+extra)
	c := dial(t, g.addr, sctpsock.Options{NoDelay: true})
	s := startSender(c, 1024, nil)
	waitBlockedSender(t, s)
	t.Logf("sender blocked after %d messages of 1 KiB", s.sent.Load())
	return g, up, c, s, release
}

// TestDrainDeliversQueued: SIGTERM while messages are queued toward a stalled
// upstream: once it reads again every message the application sent arrives, in
// order, both legs end with SHUTDOWN, and sctpguard exits 0.
func TestDrainDeliversQueued(t *testing.T) {
	g, up, c, s, release := stalledFlow(t, `shutdown { drain_timeout = "60s" }`)
	frontEnd := make(chan error, 1)
	go func() { _, err := readEnd(c, 60*time.Second); frontEnd <- err }()
	g.signal(t, syscall.SIGTERM)
	g.waitLog("draining", 10*time.Second, "associations", "1")
	// The drain must hold while the upstream still reads nothing: there is no
	// event for "still waiting", so the upstream stays stalled a bounded 500 ms.
	time.Sleep(500 * time.Millisecond)
	close(release)
	code, took := g.exit(t, 60*time.Second)
	<-s.done
	if code != 0 {
		t.Errorf("sctpguard exit code %d after a drain, want 0", code)
	}
	if err := <-frontEnd; !errors.Is(err, io.EOF) {
		t.Errorf("application saw its association end with %v, want SHUTDOWN (EOF)", err)
	}
	select {
	case err := <-up.ended:
		if !errors.Is(err, io.EOF) {
			t.Errorf("upstream saw its association end with %v, want SHUTDOWN (EOF)", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("upstream association did not end")
	}
	up.check(t, s.sent.Load())
	t.Logf("drain delivered %d queued messages and exited %v after the upstream resumed", s.sent.Load(), took.Round(time.Millisecond))
	g.findLogOrFail(t, "association ended", "reason", "drain")
}

// TestSecondSignalAborts: a drain stuck on a stalled upstream is cut short by a
// second SIGTERM: sctpguard exits at once, the application's blocked send fails
// and the upstream peer sees ABORT, not a graceful end.
func TestSecondSignalAborts(t *testing.T) {
	g, up, _, s, release := stalledFlow(t, `shutdown { drain_timeout = "5m" }`)
	g.signal(t, syscall.SIGTERM)
	g.waitLog("draining", 10*time.Second)
	// The second signal must find the drain stuck, not just begun: a bounded
	// 300 ms in which nothing can end it (the upstream reads nothing).
	time.Sleep(300 * time.Millisecond)
	g.signal(t, syscall.SIGTERM)
	_, took := g.exit(t, 10*time.Second)
	t.Logf("exited %v after the second SIGTERM", took.Round(time.Millisecond))
	g.findLogOrFail(t, "second stop signal: aborting every association")
	assertAborted(t, up, s, release)
}

// TestDrainTimeout: with one SIGTERM, a drain that cannot finish ends after
// shutdown.drain_timeout with the associations aborted.
func TestDrainTimeout(t *testing.T) {
	g, up, _, s, release := stalledFlow(t, `shutdown { drain_timeout = "2s" }`)
	start := time.Now()
	g.signal(t, syscall.SIGTERM)
	g.exit(t, 20*time.Second)
	took := time.Since(start)
	t.Logf("exited %v after SIGTERM with drain_timeout 2s", took.Round(time.Millisecond))
	if took < 2*time.Second {
		t.Errorf("exited after %v, before the 2s drain timeout", took)
	}
	g.findLogOrFail(t, "drain timeout: aborting the associations left", "associations", "1")
	assertAborted(t, up, s, release)
}

// waitBlockedSender waits until s has sent something and its count has not
// moved for 300 ms: sctpguard takes no more.
func waitBlockedSender(t *testing.T, s *sender) {
	t.Helper()
	last, since := int64(-1), time.Now()
	eventually(t, "sender blocked", 60*time.Second, func() bool {
		if n := s.sent.Load(); n != last {
			last, since = n, time.Now()
			return false
		}
		return last > 0 && time.Since(since) >= 300*time.Millisecond
	})
}

// assertAborted checks what both ends of an aborted drain see: the application's
// blocked send fails (it received SHUTDOWN when the drain began, so its reads
// already ended) and the upstream peer, reading again, sees ABORT.
func assertAborted(t *testing.T, up *flowPeer, s *sender, release chan struct{}) {
	t.Helper()
	select {
	case <-s.done:
		t.Logf("application's send failed: %v", s.err)
	case <-time.After(10 * time.Second):
		t.Error("application's blocked send did not fail after the abort")
	}
	close(release)
	select {
	case err := <-up.ended:
		if !errors.Is(err, sctpsock.ErrAborted) {
			t.Errorf("upstream saw its association end with %v, want ABORT", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("upstream association did not end")
	}
}

func (g *guard) findLogOrFail(t *testing.T, msg string, kv ...string) {
	t.Helper()
	if g.findLog(msg, kv...) == nil {
		t.Errorf("no log line %q %v", msg, kv)
	}
}

// TestStatusAndMetrics: after 100 messages each way, `sctpguard status` and
// /metrics show them, and the end of the association is counted by reason.
func TestStatusAndMetrics(t *testing.T) {
	up := startPeer(t, sctpsock.Options{}, echopeer.Serve)
	g := startGuard(t, relayConfig(up.addr, "")+`metrics { listen = "127.0.0.1:19368" }`)
	url := fmt.Sprint(g.waitLog("started", 10*time.Second)["metrics"])
	c := dial(t, g.addr, sctpsock.Options{})
	buf := make([]byte, 1024)
	for i := range 100 {
		if err := c.WriteMsg(sctpsock.Msg{Data: []byte(fmt.Sprintf("message %03d", i)), Stream: 1, PPID: 9}); err != nil {
			t.Fatal(err)
		}
		if _, err := readData(c, buf); err != nil {
			t.Fatal(err)
		}
	}
	table, err := exec.Command(os.Getenv(binEnv), "status", "-s", filepath.Join(g.dir, "admin.sock")).CombinedOutput()
	if err != nil {
		t.Fatalf("sctpguard status: %v\n%s", err, table)
	}
	t.Logf("sctpguard status:\n%s", table)
	row := lineWith(string(table), "ESTABLISHED")
	for _, want := range []string{"test", localAddr(t, c), up.addr.String(), "100/100", "1.1KiB/1.1KiB"} {
		if !strings.Contains(row, want) {
			t.Errorf("status row %q lacks %q", row, want)
		}
	}
	st := g.statusCLI(t)
	if len(st.Associations) != 1 {
		t.Fatalf("status --json lists %d associations, want 1", len(st.Associations))
	}
	if a := st.Associations[0]; a.KernelToUpstream < 0 || a.KernelToFront < 0 {
		t.Errorf("status --json: kernel held %d/%d, want the kernel's account from sock_diag (>= 0)", a.KernelToUpstream, a.KernelToFront)
	}
	m := scrape(t, url)
	for _, want := range []string{
		`sctpguard_relayed_messages_total{direction="to_upstream",relay="test"} 100`,
		`sctpguard_relayed_messages_total{direction="to_front",relay="test"} 100`,
		`sctpguard_relayed_bytes_total{direction="to_upstream",relay="test"} 1100`,
		`sctpguard_associations{relay="test",state="established"} 1`,
		`sctpguard_associations_accepted_total{relay="test"} 1`,
	} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	c.Shutdown()
	g.waitLog("association ended", 10*time.Second, "reason", "shutdown")
	m = scrape(t, url)
	for _, want := range []string{
		`sctpguard_associations_ended_total{reason="shutdown",relay="test"} 1`,
		`sctpguard_associations{relay="test",state="established"} 0`,
		`sctpguard_relayed_messages_total{direction="to_upstream",relay="test"} 100`,
	} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("/metrics after the end lacks %q", want)
		}
	}
}

func lineWith(text, sub string) string {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if strings.Contains(sc.Text(), sub) {
			return sc.Text()
		}
	}
	return ""
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

func localAddr(t *testing.T, c *sctpsock.Conn) string {
	t.Helper()
	addrs, err := c.LocalAddrs()
	if err != nil || len(addrs) == 0 {
		t.Fatalf("local addresses: %v", err)
	}
	return addrs[0].String()
}

// TestReloadCommand: `sctpguard reload` prints a refused file's problems and
// exits 1 with nothing changed, and exits 0 once the file is valid.
func TestReloadCommand(t *testing.T) {
	up := startPeer(t, sctpsock.Options{}, echopeer.Serve)
	base := relayConfig(up.addr, "")
	g := startGuard(t, base)
	c := dial(t, g.addr, sctpsock.Options{})
	reload := func() (int, string) {
		cmd := exec.Command(os.Getenv(binEnv), "reload", "-s", filepath.Join(g.dir, "admin.sock"))
		out, _ := cmd.CombinedOutput()
		return cmd.ProcessState.ExitCode(), string(out)
	}
	g.rewrite(t, strings.Replace(base, `upstream = [`, `upstream = ["nowhere", `, 1))
	code, out := reload()
	t.Logf("sctpguard reload with a bad file: exit %d:\n%s", code, out)
	if code != 1 || !strings.Contains(out, "relay.test.upstream") || !strings.Contains(out, "nothing changed") {
		t.Errorf("reload of an invalid file: exit %d, output %q; want 1 and the problem named", code, out)
	}
	g.rewrite(t, relayConfig(up.addr, `quota { association = "2MiB" }`))
	if code, out := reload(); code != 0 || !strings.Contains(out, "reloaded") {
		t.Fatalf("reload of a valid file: exit %d, output %q", code, out)
	}
	if q := quotaOf(guardStatus(t, g), "test"); q != 2<<20 {
		t.Errorf("quota after reload %d, want %d", q, 2<<20)
	}
	if err := c.WriteMsg(sctpsock.Msg{Data: []byte("still relaying"), PPID: 3}); err != nil {
		t.Fatal(err)
	}
	if m, err := readData(c, make([]byte, 64)); err != nil || string(m.Data) != "still relaying" {
		t.Fatalf("echo after reloads: %q %v", m.Data, err)
	}
}

// TestNotifySocket: the daemon tells systemd READY once it listens, RELOADING then
// READY around a reload, and STOPPING on SIGTERM, over a real NOTIFY_SOCKET.
func TestNotifySocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify.sock")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	t.Setenv("NOTIFY_SOCKET", path)
	next := func() string {
		t.Helper()
		ln.SetReadDeadline(time.Now().Add(10 * time.Second))
		b := make([]byte, 4096)
		n, err := ln.Read(b)
		if err != nil {
			t.Fatalf("no notification: %v", err)
		}
		return strings.TrimSuffix(string(b[:n]), "\n")
	}
	up := startPeer(t, sctpsock.Options{}, echopeer.Serve)
	g := startGuard(t, relayConfig(up.addr, ""))
	if m := next(); m != "READY=1" {
		t.Fatalf("first notification %q, want READY=1", m)
	}
	g.signal(t, syscall.SIGHUP)
	if m := next(); !strings.HasPrefix(m, "RELOADING=1\nMONOTONIC_USEC=") {
		t.Fatalf("notification on SIGHUP %q, want RELOADING=1 with MONOTONIC_USEC", m)
	}
	if m := next(); m != "READY=1" {
		t.Fatalf("notification after the reload %q, want READY=1", m)
	}
	g.signal(t, syscall.SIGTERM)
	if m := next(); m != "STOPPING=1" {
		t.Fatalf("notification on SIGTERM %q, want STOPPING=1", m)
	}
	if code, _ := g.exit(t, 15*time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
}
