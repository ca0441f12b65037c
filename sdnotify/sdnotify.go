// Package sdnotify tells systemd about the daemon's state over $NOTIFY_SOCKET
// (sd_notify(3)), so a Type=notify unit knows when sctpguard is ready, reloading or
// stopping. Outside systemd ($NOTIFY_SOCKET unset) every call does nothing.
//
//	sdnotify.Ready()                 // after every listener is open
//	sdnotify.Reloading()             // on SIGHUP, then Ready() once the new config applies
//	sdnotify.Stopping()              // on SIGTERM
//	sdnotify.Status("3 associations") // free text shown by systemctl status
package sdnotify

import (
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Ready reports that start-up or a reload finished.
func Ready() error { return Send("READY=1") }

// Reloading reports that a reload began; the monotonic timestamp lets
// Type=notify-reload units match it to their reload request.
func Reloading() error {
	return Send("RELOADING=1", fmt.Sprintf("MONOTONIC_USEC=%d", monotonicUsec()))
}

// Stopping reports that the daemon began to shut down.
func Stopping() error { return Send("STOPPING=1") }

// Status sets the free-text status line.
func Status(s string) error { return Send("STATUS=" + strings.ReplaceAll(s, "\n", " ")) }

// Send writes one notification made of the given VAR=value lines. It returns nil
// without doing anything when $NOTIFY_SOCKET is unset.
func Send(lines ...string) error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	// A leading '@' names the abstract namespace; package net maps it.
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(strings.Join(lines, "\n") + "\n")); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	return nil
}

func monotonicUsec() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return time.Now().UnixMicro()
	}
	return ts.Sec*1e6 + ts.Nsec/1e3
}
