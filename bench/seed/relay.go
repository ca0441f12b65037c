package main

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/sctpguard/sctpguard/bench/internal/child"
)

// A path is how senders reach the receiver. start, nil for the direct path,
// starts a relay towards the receiver and returns it with the address the
// senders dial.
type path struct {
	name  string
	start func(ctx context.Context, dir string, receiver netip.AddrPort) (*child.Child, netip.AddrPort, error)
}

// paths are the rows' paths, those -paths names, in table order.
func paths(s settings) []path {
	var out []path
	for _, p := range allPaths(s) {
		if slices.Contains(s.paths, p.name) {
			out = append(out, p)
		}
	}
	return out
}

func allPaths(s settings) []path {
	return []path{
		{name: "direct"},
		{name: "socat", start: func(ctx context.Context, dir string, to netip.AddrPort) (*child.Child, netip.AddrPort, error) {
			return startSocat(ctx, s.socat, dir, to)
		}},
		{name: "sctpguard", start: func(ctx context.Context, dir string, to netip.AddrPort) (*child.Child, netip.AddrPort, error) {
			return startGuard(ctx, s.guard, dir, to, s.global)
		}},
	}
}

// startSocat runs socat at its best for SCTP: SCTP_NODELAY (option 3 of
// level 132) on both legs, one child process per association.
func startSocat(ctx context.Context, bin, dir string, to netip.AddrPort) (*child.Child, netip.AddrPort, error) {
	port, err := child.FreePort()
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	c, err := child.Start("socat", filepath.Join(dir, "socat.log"), bin,
		fmt.Sprintf("SCTP-LISTEN:%d,reuseaddr,fork,setsockopt-int=132:3:1", port),
		fmt.Sprintf("SCTP:%s,setsockopt-int=132:3:1", to))
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	return c, netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), port), c.WaitListening(ctx, port)
}

// guardConfig is the relay of the scenario: 1 MiB per association, and the
// global quota for the host (-global, 16 MiB unless told).
const guardConfig = `relay "seed" {
  listen   = ["127.0.0.1:%d"]
  upstream = ["%s"]
  quota {
    association = "1MiB"
  }
}
quota {
  global = %d
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

// startGuard runs sctpguard with the scenario's config.
func startGuard(ctx context.Context, bin, dir string, to netip.AddrPort, global int64) (*child.Child, netip.AddrPort, error) {
	port, err := child.FreePort()
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	text := fmt.Sprintf(guardConfig, port, to, global, filepath.Join(dir, "admin.sock"))
	c, err := child.StartGuard(ctx, bin, dir, text, port)
	return c, netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), port), err
}

// guardStatus is `sctpguard status` of the daemon whose files are in dir.
func guardStatus(ctx context.Context, bin, dir string) string {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "status", "-s", filepath.Join(dir, "admin.sock")).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("%s(sctpguard status: %v)\n", out, err)
	}
	return string(out)
}
