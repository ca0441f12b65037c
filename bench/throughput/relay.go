package main

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/sctpguard/sctpguard/bench/internal/child"
)

var loopback = netip.AddrFrom4([4]byte{127, 0, 0, 1})

// startSocat runs socat at its best for SCTP: SCTP_NODELAY (option 3 of
// level 132; Debian's socat 1.7.4 has no sctp-nodelay) on both legs, one
// forked child per association, its default 8 KiB buffer.
func startSocat(ctx context.Context, bin, logPath string, to netip.AddrPort) (*child.Child, netip.AddrPort, error) {
	port, err := child.FreePort()
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	c, err := child.Start("socat", logPath, bin,
		fmt.Sprintf("SCTP-LISTEN:%d,reuseaddr,fork,setsockopt-int=132:3:1", port),
		fmt.Sprintf("SCTP:%s,setsockopt-int=132:3:1", to))
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	if err := c.WaitListening(ctx, port); err != nil {
		c.Stop(10 * time.Second)
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
func startGuard(ctx context.Context, bin, dir string, sink, echo netip.AddrPort) (c *child.Child, toSink, toEcho netip.AddrPort, err error) {
	sinkPort, err := child.FreePort()
	if err != nil {
		return nil, toSink, toEcho, err
	}
	echoPort, err := child.FreePort()
	if err != nil {
		return nil, toSink, toEcho, err
	}
	text := fmt.Sprintf(guardConfig, sinkPort, sink, echoPort, echo, filepath.Join(dir, "admin.sock"))
	if c, err = child.StartGuard(ctx, bin, dir, text, sinkPort, echoPort); err != nil {
		return nil, toSink, toEcho, err
	}
	return c, netip.AddrPortFrom(loopback, sinkPort), netip.AddrPortFrom(loopback, echoPort), nil
}
