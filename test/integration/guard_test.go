package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// guard is one running sctpguard process.
type guard struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr netip.AddrPort // the first relay's first listen address
	dir  string         // holds the config and the admin socket

	mu   sync.Mutex
	logs []map[string]any
	raw  bytes.Buffer
	done chan struct{}
}

// relayConfig is a config with one relay "test" listening on an ephemeral port
// towards upstream; extra is HCL added inside the relay block.
func relayConfig(upstream netip.AddrPort, extra string) string {
	return fmt.Sprintf(`
relay "test" {
  listen   = ["127.0.0.1:0"]
  upstream = [%q]
  %s
}
log {
  level  = "debug"
  format = "json"
}
admin {
  socket = "%%ADMIN%%"
}
`, upstream.String(), extra)
}

// startGuard runs sctpguard with the config text and waits until it listens.
func startGuard(t *testing.T, cfg string) *guard {
	t.Helper()
	dir := t.TempDir()
	cfg = strings.ReplaceAll(cfg, "%ADMIN%", filepath.Join(dir, "admin.sock"))
	path := filepath.Join(dir, "sctpguard.hcl")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	g := &guard{t: t, dir: dir, cmd: exec.Command(os.Getenv(binEnv), "run", "-c", path), done: make(chan struct{})}
	stderr, err := g.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := g.cmd.Start(); err != nil {
		t.Fatalf("start sctpguard: %v", err)
	}
	go g.collect(bufio.NewScanner(stderr))
	t.Cleanup(g.stop)
	e := g.waitLog("listening", 20*time.Second)
	addrs := strings.TrimSuffix(strings.TrimPrefix(fmt.Sprint(e["addrs"]), "["), "]") // one pair: IPv6 addresses keep theirs
	g.addr, err = netip.ParseAddrPort(strings.Fields(addrs)[0])
	if err != nil {
		t.Fatalf("listening line %v: %v", e, err)
	}
	return g
}

func (g *guard) collect(sc *bufio.Scanner) {
	defer close(g.done)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e map[string]any
		g.mu.Lock()
		g.raw.Write(line)
		g.raw.WriteByte('\n')
		if json.Unmarshal(line, &e) == nil {
			g.logs = append(g.logs, e)
		}
		g.mu.Unlock()
	}
}

// stop sends SIGTERM and waits; the logs are shown when the test failed.
func (g *guard) stop() {
	if g.cmd.ProcessState == nil {
		g.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-g.done:
		case <-time.After(15 * time.Second):
			g.cmd.Process.Kill()
			<-g.done
		}
		g.cmd.Wait()
	}
	if g.t.Failed() {
		g.mu.Lock()
		g.t.Logf("sctpguard log:\n%s", g.raw.String())
		g.mu.Unlock()
	}
}

// findLog returns the first log entry whose message is msg and whose fields contain
// every key=value of kv (values compared as strings, substring match).
func (g *guard) findLog(msg string, kv ...string) map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, e := range g.logs {
		if e["@message"] != msg {
			continue
		}
		if matches(e, kv) {
			return e
		}
	}
	return nil
}

func matches(e map[string]any, kv []string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		if !strings.Contains(fmt.Sprint(e[kv[i]]), kv[i+1]) {
			return false
		}
	}
	return true
}

// waitLog waits for a log entry as findLog describes it.
func (g *guard) waitLog(msg string, timeout time.Duration, kv ...string) map[string]any {
	g.t.Helper()
	var e map[string]any
	eventually(g.t, fmt.Sprintf("log line %q %v", msg, kv), timeout, func() bool {
		if e = g.findLog(msg, kv...); e != nil {
			return true
		}
		select {
		case <-g.done:
			if e = g.findLog(msg, kv...); e == nil {
				g.t.Fatalf("sctpguard exited before logging %q %v:\n%s", msg, kv, g.raw.String())
			}
			return true
		default:
			return false
		}
	})
	return e
}

// pid is the process id of the running sctpguard.
func (g *guard) pid() int { return g.cmd.Process.Pid }

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// countLog counts the log entries whose message is msg.
func (g *guard) countLog(msg string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, e := range g.logs {
		if e["@message"] == msg {
			n++
		}
	}
	return n
}
