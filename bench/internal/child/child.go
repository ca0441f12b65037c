// Package child runs the processes a benchmark measures — a relay such as
// sctpguard or socat — each in its own process group, so that stopping one
// ends what it forked too, and reads what the kernel says of them: listening
// ports, resident memory, threads, CPU time.
package child

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// Child is a running process whose output goes to a log file.
type Child struct {
	Name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error // from Wait, once done is closed
}

// Start runs bin with args as the leader of a new process group, its stdout and
// stderr to logPath. The process is killed if the caller dies.
func Start(name, logPath, bin string, args ...string) (*Child, error) {
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
	c := &Child{Name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go c.wait() // reaper: ends when the process does
	return c, nil
}

func (c *Child) wait() {
	c.err = c.cmd.Wait()
	close(c.done)
}

// Pid is the process id, which is also its process group id.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// WaitListening waits until an SCTP endpoint listens on port, for at most 30 s.
func (c *Child) WaitListening(ctx context.Context, port uint16) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if Listening(port) {
			return nil
		}
		select {
		case <-c.done:
			return fmt.Errorf("%s exited before listening on port %d: %v%s", c.Name, port, c.err, c.Tail())
		case <-ctx.Done():
			return fmt.Errorf("%s: wait for listening: %w", c.Name, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s does not listen on port %d after 30s%s", c.Name, port, c.Tail())
}

// Check returns an error if the process has exited.
func (c *Child) Check() error {
	select {
	case <-c.done:
		return fmt.Errorf("%s exited: %v%s", c.Name, c.err, c.Tail())
	default:
		return nil
	}
}

// Stop ends the process group: SIGTERM, then SIGKILL after grace.
func (c *Child) Stop(grace time.Duration) {
	pgid := c.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(grace):
	}
	syscall.Kill(-pgid, syscall.SIGKILL) // forked children outlive their parent
	<-c.done
}

// Tail is the end of the log, for error messages.
func (c *Child) Tail() string {
	b, err := os.ReadFile(c.logPath)
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "\n--- " + c.Name + " log (tail) ---\n" + strings.TrimRight(string(b), "\n")
}

// FreePort is an SCTP port on 127.0.0.1 that nothing listens on just now.
func FreePort() (uint16, error) {
	l, err := sctpsock.Listen([]netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}, sctpsock.Options{})
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addrs()[0].Port(), nil
}

// Listening reports whether an SCTP endpoint is bound to port, as
// /proc/net/sctp/eps shows it.
func Listening(port uint16) bool {
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
		if f := strings.Fields(l); len(f) > col && f[col] == want {
			return true
		}
	}
	return false
}
