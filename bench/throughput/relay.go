package main

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sctpguard/sctpguard/sctpsock"
)

var loopback = netip.AddrFrom4([4]byte{127, 0, 0, 1})

// startSocat runs socat at its best for SCTP: SCTP_NODELAY (option 3 of
// level 132; Debian's socat 1.7.4 has no sctp-nodelay) on both legs, one
// forked child per association, its default 8 KiB buffer.
func startSocat(ctx context.Context, bin, logPath string, to netip.AddrPort) (*child, netip.AddrPort, error) {
	port, err := freePort()
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	c, err := startChild("socat", logPath, bin,
		fmt.Sprintf("SCTP-LISTEN:%d,reuseaddr,fork,setsockopt-int=132:3:1", port),
		fmt.Sprintf("SCTP:%s,setsockopt-int=132:3:1", to))
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	if err := c.waitListening(ctx, port); err != nil {
		c.stop()
		return nil, netip.AddrPort{}, err
	}
	return c, netip.AddrPortFrom(loopback, port), nil
}

// guardConfig relays to the sink and to the echo server, with quotas that
// never throttle this benchmark: 4 MiB per association and direction.
const guardConfig = `relay "sink" {
  listen   = ["127.0.0.1:%d"]
  upstream = ["%s"]
  quota {
    association = "4MiB"
  }
}
relay "echo" {
  listen   = ["127.0.0.1:%d"]
  upstream = ["%s"]
  quota {
    association = "4MiB"
  }
}
quota {
  global = "1GiB"
}
admin {
  socket = "%s"
}
log {
  level = "warn"
}
shutdown {
  drain_timeout = "1s"
}
`

// startGuard runs sctpguard relaying to sink and echo; it returns the
// addresses that reach each through it.
func startGuard(ctx context.Context, bin, dir string, sink, echo netip.AddrPort) (c *child, toSink, toEcho netip.AddrPort, err error) {
	sinkPort, err := freePort()
	if err != nil {
		return nil, toSink, toEcho, err
	}
	echoPort, err := freePort()
	if err != nil {
		return nil, toSink, toEcho, err
	}
	cfg := filepath.Join(dir, "sctpguard.hcl")
	text := fmt.Sprintf(guardConfig, sinkPort, sink, echoPort, echo, filepath.Join(dir, "admin.sock"))
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		return nil, toSink, toEcho, fmt.Errorf("write sctpguard config: %w", err)
	}
	c, err = startChild("sctpguard", filepath.Join(dir, "sctpguard.log"), bin, "run", "-c", cfg)
	if err != nil {
		return nil, toSink, toEcho, err
	}
	for _, p := range []uint16{sinkPort, echoPort} {
		if err := c.waitListening(ctx, p); err != nil {
			c.stop()
			return nil, toSink, toEcho, err
		}
	}
	return c, netip.AddrPortFrom(loopback, sinkPort), netip.AddrPortFrom(loopback, echoPort), nil
}

// freePort is an SCTP port on 127.0.0.1 that nothing listens on just now.
func freePort() (uint16, error) {
	l, err := sctpsock.Listen([]netip.AddrPort{netip.AddrPortFrom(loopback, 0)}, sctpsock.Options{})
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addrs()[0].Port(), nil
}

// child is a relay process, leader of its own process group so that stop
// ends the processes it forks too and groupCPU counts them.
type child struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error // from Wait, once done is closed
}

func startChild(name, logPath, bin string, args ...string) (*child, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go c.wait()
	return c, nil
}

func (c *child) wait() {
	c.err = c.cmd.Wait()
	close(c.done)
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// waitListening waits until the child listens on port, as
// /proc/net/sctp/eps shows it, for at most 30 s.
func (c *child) waitListening(ctx context.Context, port uint16) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if listening(port) {
			return nil
		}
		select {
		case <-c.done:
			return fmt.Errorf("%s exited before listening on port %d: %v%s", c.name, port, c.err, c.tail())
		case <-ctx.Done():
			return fmt.Errorf("%s: wait for listening: %w", c.name, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s does not listen on port %d after 30s%s", c.name, port, c.tail())
}

// check returns an error if the child has exited.
func (c *child) check() error {
	select {
	case <-c.done:
		return fmt.Errorf("%s exited: %v%s", c.name, c.err, c.tail())
	default:
		return nil
	}
}

// stop ends the child's process group: SIGTERM, then SIGKILL after 10 s.
func (c *child) stop() {
	pgid := c.pid()
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
	}
	syscall.Kill(-pgid, syscall.SIGKILL) // forked children outlive their parent
	<-c.done
}

// tail is the end of the child's log, for error messages.
func (c *child) tail() string {
	b, err := os.ReadFile(c.logPath)
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "\n--- " + c.name + " log (tail) ---\n" + strings.TrimRight(string(b), "\n")
}

// listening reports whether an SCTP endpoint is bound to port.
func listening(port uint16) bool {
	b, err := os.ReadFile("/proc/net/sctp/eps")
	if err != nil {
		return false
	}
	lines := strings.Split(string(b), "\n")
	col := -1
	for i, name := range strings.Fields(lines[0]) {
		if name == "LPORT" {
			col = i
		}
	}
	if col < 0 {
		return false
	}
	want := strconv.Itoa(int(port))
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) > col && f[col] == want {
			return true
		}
	}
	return false
}
