package sdnotify

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// listen opens a real datagram socket as systemd does and points NOTIFY_SOCKET at it.
func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func receive(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no notification: %v", err)
	}
	return string(buf[:n])
}

func TestNotifications(t *testing.T) {
	for _, tc := range []struct {
		name string
		send func() error
		want []string
	}{
		{"ready", Ready, []string{"READY=1"}},
		{"reloading", Reloading, []string{"RELOADING=1", "MONOTONIC_USEC="}},
		{"stopping", Stopping, []string{"STOPPING=1"}},
		{"status", func() error { return Status("2 relays\n5 associations") }, []string{"STATUS=2 relays 5 associations\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "notify")
			c := listen(t, path)
			t.Setenv("NOTIFY_SOCKET", path)
			if err := tc.send(); err != nil {
				t.Fatal(err)
			}
			got := receive(t, c)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Fatalf("got %q, want it to contain %q", got, w)
				}
			}
		})
	}
}

func TestAbstractSocket(t *testing.T) {
	name := "sctpguard-test-" + filepath.Base(t.TempDir())
	c := listen(t, "@"+name)
	t.Setenv("NOTIFY_SOCKET", "@"+name)
	if err := Ready(); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, c); got != "READY=1\n" {
		t.Fatalf("got %q", got)
	}
}

func TestUnsetIsNoop(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if err := Ready(); err != nil {
		t.Fatalf("Ready without NOTIFY_SOCKET: %v", err)
	}
}

func TestMissingSocketIsError(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "absent"))
	if err := Ready(); err == nil || !strings.Contains(err.Error(), "sd_notify") {
		t.Fatalf("Ready to a missing socket = %v, want an sd_notify error", err)
	}
}
