package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sctpguard/sctpguard/bench/internal/child"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// Path names, in the order a round starting at 0 runs them.
const (
	direct = "direct"
	socat  = "socat"
	guard  = "sctpguard"
)

var pathNames = []string{direct, socat, guard}

// bench is the iperf3 server and the relays in front of it. Every path is on
// 127.0.0.1, each on its own port, since iperf3's client opens its SCTP
// associations to the port of its control connection.
type bench struct {
	s     settings
	dir   string
	procs []*child.Child
	port  map[string]uint16 // the port a client connects to, by path
}

// guardConfig relays SCTP to the iperf3 server with a quota that never
// throttles this benchmark: 4 MiB per association and direction.
const guardConfig = `relay "iperf" {
  listen   = ["127.0.0.1:%d"]
  upstream = ["127.0.0.1:%d"]
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
`

func setUp(ctx context.Context, s settings) (*bench, error) {
	b := &bench{s: s, port: map[string]uint16{}}
	var err error
	if b.dir, err = os.MkdirTemp("", "sctpguard-iperf-"); err != nil {
		return nil, err
	}
	if err := b.start(ctx); err != nil {
		b.tearDown()
		return nil, err
	}
	return b, nil
}

func (b *bench) start(ctx context.Context) error {
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	server, sp, gp := ports[0], ports[1], ports[2]
	b.port[direct], b.port[socat], b.port[guard] = server, sp, gp
	srv, err := child.Start("iperf3 server", b.log("iperf3-server"), b.s.iperf3, "-s", "-B", "127.0.0.1", "-p", strconv.Itoa(int(server)))
	if err != nil {
		return err
	}
	b.procs = append(b.procs, srv)
	if err := waitTCP(ctx, srv, server); err != nil {
		return err
	}
	// SCTP_NODELAY is option 3 of level 132 (Debian's socat has no sctp-nodelay).
	sctp, err := child.Start("socat", b.log("socat"), b.s.socat,
		fmt.Sprintf("SCTP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,setsockopt-int=132:3:1", sp),
		fmt.Sprintf("SCTP:127.0.0.1:%d,setsockopt-int=132:3:1", server))
	if err != nil {
		return err
	}
	b.procs = append(b.procs, sctp)
	if err := sctp.WaitListening(ctx, sp); err != nil {
		return err
	}
	text := fmt.Sprintf(guardConfig, gp, server, filepath.Join(b.dir, "admin.sock"))
	g, err := child.StartGuard(ctx, b.s.guard, b.dir, text, gp)
	if err != nil {
		return err
	}
	b.procs = append(b.procs, g)
	for _, p := range []uint16{sp, gp} { // the control connections beside each relay
		fwd, err := child.Start("socat (TCP control)", b.log(fmt.Sprintf("socat-tcp-%d", p)), b.s.socat,
			fmt.Sprintf("TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork", p), fmt.Sprintf("TCP:127.0.0.1:%d", server))
		if err != nil {
			return err
		}
		b.procs = append(b.procs, fwd)
		if err := waitTCP(ctx, fwd, p); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) log(name string) string { return filepath.Join(b.dir, name+".log") }

func (b *bench) tearDown() {
	for _, c := range b.procs {
		c.Stop(5 * time.Second)
	}
	os.RemoveAll(b.dir)
}

// round runs every cell once on every path; round n starts with path n mod 3.
func (b *bench) round(ctx context.Context, n int, res results, logf func(string, ...any)) {
	k := (n - 1) % len(pathNames)
	order := slices.Concat(pathNames[k:], pathNames[:k])
	for _, size := range b.s.sizes {
		for _, par := range b.s.parallel {
			for _, name := range order {
				if ctx.Err() != nil {
					return
				}
				bps, err := b.client(ctx, name, size, par)
				if err == nil {
					err = b.alive()
				}
				res.add(key{size, par}, name, sample{bps: bps, err: err})
				logf("  %s × %d %s: %.1f Mbit/s%s", sizeName(size), par, name, bps/1e6, errSuffix(err))
			}
		}
	}
}

// client runs one iperf3 client on path name and returns the bits per
// second the server received.
func (b *bench) client(ctx context.Context, name string, size, par int) (float64, error) {
	wait := time.Duration(b.s.secs+b.s.omit+30) * time.Second
	cctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	out, err := exec.CommandContext(cctx, b.s.iperf3, "-c", "127.0.0.1", "-p", strconv.Itoa(int(b.port[name])),
		"--sctp", "-N", "-l", strconv.Itoa(size), "-P", strconv.Itoa(par),
		"-t", strconv.Itoa(b.s.secs), "-O", strconv.Itoa(b.s.omit), "-J").Output()
	bps, perr := parseResult(out)
	if perr != nil {
		return 0, errors.Join(perr, err)
	}
	return bps, nil
}

// result is what run needs of iperf3's JSON report.
type result struct {
	End struct {
		SumReceived struct {
			BitsPerSecond float64 `json:"bits_per_second"`
		} `json:"sum_received"`
	} `json:"end"`
	Error string `json:"error"`
}

func parseResult(out []byte) (float64, error) {
	var r result
	if err := json.Unmarshal(out, &r); err != nil {
		return 0, fmt.Errorf("iperf3 report: %w", err)
	}
	if r.Error != "" {
		return 0, fmt.Errorf("iperf3: %s", r.Error)
	}
	if r.End.SumReceived.BitsPerSecond <= 0 {
		return 0, fmt.Errorf("iperf3 report: nothing received (no end.sum_received)")
	}
	return r.End.SumReceived.BitsPerSecond, nil
}

// alive returns an error if a process of the bench has exited.
func (b *bench) alive() error {
	for _, c := range b.procs {
		if err := c.Check(); err != nil {
			return err
		}
	}
	return nil
}

// freePorts returns n distinct ports free for SCTP on 127.0.0.1.
func freePorts(n int) ([]uint16, error) {
	var ports []uint16
	for len(ports) < n {
		p, err := child.FreePort()
		if err != nil {
			return nil, err
		}
		if !slices.Contains(ports, p) && !tcpListening(p) {
			ports = append(ports, p)
		}
	}
	return ports, nil
}

// waitTCP waits until c listens for TCP on port, for at most 30 s.
func waitTCP(ctx context.Context, c *child.Child, port uint16) error {
	deadline := time.Now().Add(30 * time.Second)
	for !tcpListening(port) {
		if err := c.Check(); err != nil {
			return err
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s does not listen for TCP on port %d after 30s%s", c.Name, port, c.Tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// tcpListening reports whether a TCP socket listens on port, as
// /proc/net/tcp shows it (state 0A).
func tcpListening(port uint16) bool {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return false
	}
	defer f.Close()
	want := fmt.Sprintf(":%04X", port)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) > 3 && strings.HasSuffix(fs[1], want) && fs[3] == "0A" {
			return true
		}
	}
	return false
}

// preflight checks, before anything starts, what every cell needs.
func preflight(s *settings) error {
	if err := sctpsock.Supported(); err != nil {
		return fmt.Errorf("%w (run through bench/run.sh, which uses the test VM)", err)
	}
	for _, bin := range []struct {
		p    *string
		hint string
	}{{&s.guard, "pass -guard"}, {&s.socat, "apt-get install socat"}, {&s.iperf3, "apt-get install iperf3"}} {
		var err error
		if *bin.p, err = exec.LookPath(*bin.p); err != nil {
			return fmt.Errorf("%w (%s)", err, bin.hint)
		}
	}
	return nil
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return ", error: " + strings.SplitN(err.Error(), "\n", 2)[0]
}
