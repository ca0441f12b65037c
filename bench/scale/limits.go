package main

import (
	"fmt"
	"os"
	"syscall"
)

// raiseLimits lets this process and sctpguard (which inherits the limit) hold
// the sockets of n associations, and widens the ephemeral port range: both the
// clients here and sctpguard's upstream legs take a local port each.
func raiseLimits(n int, logf func(string, ...any)) error {
	want := uint64(4*n + 1024)
	lim := syscall.Rlimit{Cur: want, Max: want}
	var cur syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &cur); err == nil && cur.Max > want {
		lim.Max = cur.Max
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("raise RLIMIT_NOFILE to %d (run as root): %w", want, err)
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_local_port_range", []byte("1024 65535\n"), 0); err != nil {
		logf("warning: cannot widen the local port range (%v); more than ~14,000 associations may fail", err)
	}
	// Loopback packets queue per CPU; a burst of set-ups overflowing the default
	// 1,000 loses an INIT or COOKIE ECHO, which SCTP resends only after 3 s.
	if err := os.WriteFile("/proc/sys/net/core/netdev_max_backlog", []byte("100000\n"), 0); err != nil {
		logf("warning: cannot raise net.core.netdev_max_backlog (%v): set-ups may wait for retransmissions", err)
	}
	return nil
}
