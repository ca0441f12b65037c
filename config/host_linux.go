package config

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ReadHost reads what validation checks against on this host (see Host):
// net.core.wmem_max, and whether SO_SNDBUFFORCE succeeds on a UDP socket,
// which is how the kernel decides it (CapEff in /proc overstates it inside a
// user namespace). What cannot be read is left unknown.
func ReadHost() Host {
	h := Host{NoMark: cannotMark()}
	h.UDPPort, h.UDPKnown = sctpUDPPort()
	b, err := os.ReadFile("/proc/sys/net/core/wmem_max")
	if err != nil {
		return h
	}
	wmem, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || wmem <= 0 {
		return h
	}
	force, ok := canForceBuffers()
	if !ok {
		return h
	}
	h.WmemMax, h.NetAdmin = wmem, force
	return h
}

// cannotMark reports whether this process was refused SO_MARK on a UDP socket
// (EPERM); false if it could not try.
func cannotMark() bool {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, 1) == unix.EPERM
}

// canForceBuffers reports whether this process may set SO_SNDBUFFORCE; ok is
// false if it could not try.
func canForceBuffers() (force, ok bool) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false, false
	}
	defer unix.Close(fd)
	return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 1<<16) == nil, true
}

// sctpUDPPort reads net.sctp.udp_port: -1 when /proc/sys/net/sctp exists but
// has no udp_port (a kernel before 5.11); not ok when SCTP is not loaded.
func sctpUDPPort() (port int, ok bool) {
	b, err := os.ReadFile("/proc/sys/net/sctp/udp_port")
	if err != nil {
		if _, serr := os.Stat("/proc/sys/net/sctp"); serr == nil {
			return -1, true
		}
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, false
	}
	return n, true
}
