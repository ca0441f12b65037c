package integration

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/sctpsock"
	"github.com/sctpguard/sctpguard/test/echopeer"
)

// These tests put real third-party SCTP programs on both sides of sctpguard:
// lksctp-tools' sctp_test and sctp_darn, and socat.

// background starts a program whose output goes to a file; it is killed at cleanup.
func background(t *testing.T, name string, args ...string) (logPath string) {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is missing: test/rig/setup.sh installs it", name)
	}
	logPath = filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("stdbuf", append([]string{"-oL", path}, args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); f.Close() })
	return logPath
}

// freePort returns a port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := sctpsock.Listen([]netip.AddrPort{netip.AddrPortFrom(loopback, 0)}, sctpsock.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return int(ln.Addrs()[0].Port())
}

// waitListening waits until a listener shows up on port in /proc/net/sctp/eps.
func waitListening(t *testing.T, port int) {
	t.Helper()
	listening := regexp.MustCompile(fmt.Sprintf(`\s%d\s`, port))
	eventually(t, fmt.Sprintf("a listener on port %d", port), 5*time.Second, func() bool {
		b, _ := os.ReadFile("/proc/net/sctp/eps")
		return listening.Match(b)
	})
}

// run runs a program to its end and fails the test unless it exits 0.
func run(t *testing.T, stdin string, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	out, err := runAny(t, stdin, timeout, name, args...)
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}

// runAny runs a program to its end and returns its output and exit error.
func runAny(t *testing.T, stdin string, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

type sample struct {
	size  string
	flags string
	ppid  string
}

var (
	sentRE = regexp.MustCompile(`sendmsg\(sk=\d+, assoc=\d+\)\s+(\d+) bytes\.\s+SNDRCV\(stream=\d+ flags=(0x[0-9a-f]+) ppid=(\d+)`)
	recvRE = regexp.MustCompile(`recvmsg\(sk=\d+\) Data (\d+) bytes\.[^\n]*\n\s+SNDRCV\(stream=\d+ ssn=\d+ tsn=\d+ flags=(0x[0-9a-f]+) ppid=(\d+)`)
	// dataRE matches every message sctp_test's server logs, also those it logs
	// without a SNDRCV line: the first of an association, and one read after its
	// association's SHUTDOWN_COMPLETE.
	dataRE = regexp.MustCompile(`recvmsg\(sk=\d+\) Data (\d+) bytes\.`)
)

// checkServerLogged waits (bounded) until the sctp_test server logging to
// serverLog has logged as many messages as the clients sent, then checks that
// it logged the same sizes, and that every message it logged with SNDRCV
// matches one sent in size, flags and PPID. Unordered messages may be
// delivered in any order, so they are compared as multisets. It returns what
// was logged with SNDRCV.
func checkServerLogged(t *testing.T, serverLog string, sent []sample) []sample {
	t.Helper()
	var text string
	for range 100 {
		b, _ := os.ReadFile(serverLog)
		if text = string(b); len(dataRE.FindAllString(text, -1)) >= len(sent) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var logged, sentSizes []sample
	for _, m := range dataRE.FindAllStringSubmatch(text, -1) {
		logged = append(logged, sample{size: m[1]})
	}
	for _, s := range sent {
		sentSizes = append(sentSizes, sample{size: s.size})
	}
	got := samples(recvRE, text)
	if missing, wrong := subtract(sentSizes, logged), subtract(got, sent); len(missing) > 0 || len(logged) != len(sent) || len(wrong) > 0 {
		t.Fatalf("the server logged %d messages, the clients sent %d\nsizes not received: %v\nreceived but not sent (size, flags, PPID): %v\nsent: %v\nserver log:\n%s",
			len(logged), len(sent), missing, wrong, sent, text)
	}
	return got
}

func samples(re *regexp.Regexp, text string) []sample {
	var out []sample
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		out = append(out, sample{m[1], m[2], m[3]})
	}
	return out
}

// TestSCTPTestThroughRelay: lksctp-tools' sctp_test client sends messages of 1 B to
// 32 KiB with random PPIDs, unordered, through sctpguard to an sctp_test server; the
// server must log the same sizes, flags and PPIDs.
func TestSCTPTestThroughRelay(t *testing.T) {
	port := freePort(t)
	serverLog := background(t, "sctp_test", "-H", "127.0.0.1", "-P", fmt.Sprint(port), "-l")
	waitListening(t, port)
	g := startGuard(t, relayConfig(netip.AddrPortFrom(loopback, uint16(port)), `max_message = "64KiB"`))
	out := run(t, "", 60*time.Second, "sctp_test", "-H", "127.0.0.1", "-P", "0",
		"-h", "127.0.0.1", "-p", fmt.Sprint(g.addr.Port()), "-s", "-c", "4", "-x", "2")
	sent := samples(sentRE, out)
	if len(sent) < 10 {
		t.Fatalf("sctp_test client sent %d messages, expected 20:\n%s", len(sent), out)
	}
	checkServerLogged(t, serverLog, sent)
}

// subtract returns the samples of a that b lacks, counting repeats.
func subtract(a, b []sample) []sample {
	left := map[sample]int{}
	for _, s := range b {
		left[s]++
	}
	var out []sample
	for _, s := range a {
		if left[s] > 0 {
			left[s]--
			continue
		}
		out = append(out, s)
	}
	return out
}

// TestSCTPDarnThroughRelay: sctp_darn sends lines as messages through sctpguard to an
// sctp_darn server, which must print each one.
func TestSCTPDarnThroughRelay(t *testing.T) {
	port := freePort(t)
	serverLog := background(t, "sctp_darn", "-H", "127.0.0.1", "-P", fmt.Sprint(port), "-l")
	waitListening(t, port)
	g := startGuard(t, relayConfig(netip.AddrPortFrom(loopback, uint16(port)), ""))
	lines := []string{"hello through sctpguard", "a second message", "third"}
	// sctp_darn exits non-zero at the end of its input; what counts is what the server got.
	runAny(t, strings.Join(lines, "\n")+"\n", 30*time.Second, "sctp_darn",
		"-H", "127.0.0.1", "-P", "0", "-h", "127.0.0.1", "-p", fmt.Sprint(g.addr.Port()), "-s")
	for _, l := range lines {
		want := fmt.Sprintf("):  %s.", l) // sctp_darn prints "DATA(n):  <text>."
		waitFile(t, serverLog, want)
	}
	g.waitLog("association ended", 10*time.Second, "msgs_to_upstream", "3", "reason", "shutdown")
}

func waitFile(t *testing.T, path, want string) {
	t.Helper()
	var b []byte
	eventually(t, fmt.Sprintf("%s to show %q", filepath.Base(path), want), 10*time.Second, func() bool {
		b, _ = os.ReadFile(path)
		return bytes.Contains(b, []byte(want))
	}, func() string { return "it holds:\n" + string(b) })
}

// TestSocatClient: socat, a byte-stream client, talks through sctpguard to an echo peer.
func TestSocatClient(t *testing.T) {
	up := startPeer(t, sctpsock.Options{}, echopeer.Serve)
	g := startGuard(t, relayConfig(up.addr, ""))
	// shut-none: SCTP has no half-close, so socat's shutdown at the end of its input
	// would end the association before the echo could come back, relay or not.
	out := run(t, "ping from socat\n", 30*time.Second, "socat", "-t", "2", "-", fmt.Sprintf("SCTP:%s,shut-none", g.addr))
	if out != "ping from socat\n" {
		t.Fatalf("socat got %q back", out)
	}
}

// TestSocatServer: socat as the upstream peer, echoing (PIPE); sctpguard's own client
// library sends messages one at a time and reads each back.
func TestSocatServer(t *testing.T) {
	port := freePort(t)
	background(t, "socat", fmt.Sprintf("SCTP-LISTEN:%d,reuseaddr,fork", port), "PIPE")
	waitListening(t, port)
	g := startGuard(t, relayConfig(netip.AddrPortFrom(loopback, uint16(port)), ""))
	c := dial(t, g.addr, sctpsock.Options{NoDelay: true})
	buf := make([]byte, 4096)
	for i := range 20 {
		want := fmt.Sprintf("message %d through sctpguard and socat", i)
		if err := c.WriteMsg(sctpsock.Msg{Data: []byte(want)}); err != nil {
			t.Fatal(err)
		}
		got, err := readData(c, buf)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if string(got.Data) != want {
			t.Fatalf("got %q, want %q", got.Data, want)
		}
	}
}
