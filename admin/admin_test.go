package admin

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeSource serves a fixed status; if release is not nil, Status waits for
// it to be closed, after closing entered.
type fakeSource struct {
	st      Status
	entered chan struct{}
	release chan struct{}
}

func (f *fakeSource) Status() Status {
	if f.release != nil {
		close(f.entered)
		<-f.release
	}
	return f.st
}

// fakeReloader counts reloads and fails them with err.
type fakeReloader struct {
	err error
	n   atomic.Int32
}

func (f *fakeReloader) Reload() error {
	f.n.Add(1)
	return f.err
}

// sampleStatus has every field set, two relays and three associations out
// of ID order.
func sampleStatus() Status {
	return Status{
		Version: "0.1.0",
		Started: time.Date(2025, 11, 25, 8, 0, 0, 0, time.UTC),
		Global:  Budget{Limit: 256 << 20, Used: 3<<20 + 512<<10},
		Relays: []RelayStatus{
			{Name: "diameter", Listen: []string{"127.0.0.1:3868"}, Upstream: []string{"192.0.2.10:3868", "198.51.100.10:3868"},
				Budget: Budget{Limit: 64 << 20, Used: 3 << 20}, Associations: 2},
			{Name: "m3ua", Listen: []string{"127.0.0.1:2905"}, Upstream: []string{"192.0.2.20:2905"},
				Budget: Budget{Used: 512 << 10}, Associations: 1},
		},
		Associations: []AssocStatus{
			{ID: 12, Relay: "m3ua", Front: "127.0.0.1:51000", Upstream: "192.0.2.20:2905", State: "shutdown-pending",
				MsgsToUpstream: 9, BytesToUpstream: 900, MsgsToFront: 0, BytesToFront: 0,
				HeldToUpstream: 512 << 10, HeldToFront: 0, Quota: 0,
				KernelToUpstream: -1, KernelToFront: -1, PeerRwndUpstream: 0, PeerRwndFront: 212992,
				Blocked: 0, Age: 26*time.Hour + 5*time.Minute},
			{ID: 3, Relay: "diameter", Front: "127.0.0.1:40312", Upstream: "192.0.2.10:3868", State: "established",
				MsgsToUpstream: 120000, BytesToUpstream: 48_000_000, MsgsToFront: 118, BytesToFront: 47200,
				HeldToUpstream: 1 << 20, HeldToFront: 2048, Quota: 1 << 20,
				KernelToUpstream: 1536 << 10, KernelToFront: 0, PeerRwndUpstream: 106496, PeerRwndFront: 106496,
				Blocked: 12500 * time.Millisecond, Age: 3*time.Minute + 4*time.Second,
				PathsUpstream: []PathStatus{{"192.0.2.10:3868", "INACTIVE", false}, {"198.51.100.10:3868", "ACTIVE", true}},
				PathsFront:    []PathStatus{{"127.0.0.1:40312", "ACTIVE", true}}, PathEvents: 3},
			{ID: 7, Relay: "diameter", Front: "[2001:db8::1]:40400", Upstream: "198.51.100.10:3868", State: "established",
				MsgsToUpstream: 1, BytesToUpstream: 1, MsgsToFront: 2, BytesToFront: 1023,
				HeldToUpstream: 2049, HeldToFront: 0, Quota: 1 << 20,
				KernelToUpstream: 2048, KernelToFront: 2048, PeerRwndUpstream: 106495, PeerRwndFront: 106496,
				Blocked: 350 * time.Millisecond, Age: 2*time.Hour + 5*time.Minute,
				PathsUpstream: []PathStatus{{"198.51.100.10:3868", "ACTIVE", true}, {"192.0.2.10:3868", "ACTIVE", false}},
				PathsFront:    []PathStatus{{"[2001:db8::1]:40400", "ACTIVE", true}}},
		},
	}
}

// serve listens on a socket in a fresh directory and serves src and rl
// until the test ends, then checks that Serve returned nil.
func serve(t *testing.T, src Source, rl Reloader) (path string, stop func()) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "admin.sock")
	srv, err := Listen(path, 0, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return path, serveOn(t, srv, src, rl)
}

func serveOn(t *testing.T, srv *Server, src Source, rl Reloader) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, src, rl) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// rawClient talks HTTP to the socket at path, for requests Fetch never makes.
func rawClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wantErrPrefix(t *testing.T, err error, prefix string) {
	t.Helper()
	if err == nil || !strings.HasPrefix(err.Error(), prefix) {
		t.Fatalf("error %q, want prefix %q", err, prefix)
	}
}
