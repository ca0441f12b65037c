package admin

import (
	"encoding/json"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFetchRoundTrip(t *testing.T) {
	want := sampleStatus()
	path, _ := serve(t, &fakeSource{st: want}, nil)
	got, err := Fetch(ctxT(t), path)
	if err != nil {
		t.Fatal(err)
	}
	if want := want.normalized(); !reflect.DeepEqual(got, want) { // JSON has [] for nil lists
		t.Errorf("Fetch = %+v\nwant %+v", got, want)
	}
}

// TestStatusJSONShape pins the field names scripts rely on.
func TestStatusJSONShape(t *testing.T) {
	st := sampleStatus()
	st.Relays[0].Listen = nil
	path, _ := serve(t, &fakeSource{st: st}, nil)
	resp, err := rawClient(path).Get("http://x/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	wantKeys(t, "status", doc, "version", "started", "global", "relays", "associations")
	wantKeys(t, "global", doc["global"], "limit", "used")
	relay := doc["relays"].([]any)[0]
	wantKeys(t, "relay", relay, "name", "listen", "upstream", "budget", "associations", "associations_ending", "held", "totals")
	if l := relay.(map[string]any)["listen"]; l == nil {
		t.Error("empty listen list is null, want []")
	}
	wantKeys(t, "association", doc["associations"].([]any)[0],
		"id", "relay", "front", "upstream", "state",
		"msgs_to_upstream", "bytes_to_upstream", "msgs_to_front", "bytes_to_front",
		"held_to_upstream", "held_to_front", "quota", "kernel_to_upstream", "kernel_to_front",
		"peer_rwnd_upstream", "peer_rwnd_front", "blocked_ns", "age_ns",
		"paths_upstream", "paths_front", "path_events", "gate_to_upstream", "gate_to_front")
	wantKeys(t, "gate", doc["associations"].([]any)[0].(map[string]any)["gate_to_upstream"],
		"source", "unread", "window", "held_msgs", "probes")
	wantKeys(t, "path", doc["associations"].([]any)[1].(map[string]any)["paths_upstream"].([]any)[0], "address", "state", "primary")
	if p := doc["associations"].([]any)[0].(map[string]any)["paths_front"]; p == nil {
		t.Error("empty path list is null, want []")
	}
	if doc["started"] != "2025-11-25T08:00:00Z" {
		t.Errorf("started = %v", doc["started"])
	}
}

func wantKeys(t *testing.T, what string, v any, keys ...string) {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s is %T, want an object", what, v)
	}
	var got []string
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	slices.Sort(keys)
	if !slices.Equal(got, keys) {
		t.Errorf("%s keys = %v\nwant %v", what, got, keys)
	}
}

func TestEmptyStatusHasLists(t *testing.T) {
	var b strings.Builder
	if err := WriteJSON(&b, Status{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"relays": []`) || !strings.Contains(b.String(), `"associations": []`) {
		t.Errorf("empty status:\n%s", b.String())
	}
}

func TestBadRequestsChangeNothing(t *testing.T) {
	rl := &fakeReloader{}
	path, _ := serve(t, &fakeSource{st: sampleStatus()}, rl)
	c := rawClient(path)
	for _, tc := range []struct {
		method, url, body string
		code              int
		allow, msg        string
	}{
		{"GET", "/nope", "", 404, "", `no endpoint "/nope"; the admin API has GET /v1/status and POST /v1/reload`},
		{"GET", "/v1/status/", "", 404, "", "no endpoint"},
		{"POST", "/v1/status", "", 405, "GET", "POST /v1/status is not allowed; use GET"},
		{"GET", "/v1/reload", "", 405, "POST", "GET /v1/reload is not allowed; use POST"},
		{"DELETE", "/v1/reload", "", 405, "POST", "DELETE /v1/reload is not allowed"},
		{"GET", "/v1/status?assoc=3", "", 400, "", `/v1/status takes no query parameters, got "assoc=3"`},
		{"POST", "/v1/reload", "quota = 1", 400, "", "/v1/reload takes no request body"},
	} {
		req, _ := http.NewRequest(tc.method, "http://x"+tc.url, strings.NewReader(tc.body))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var ae apiError
		err = json.NewDecoder(resp.Body).Decode(&ae)
		resp.Body.Close()
		if err != nil {
			t.Errorf("%s %s: body is not JSON: %v", tc.method, tc.url, err)
		}
		if resp.StatusCode != tc.code || !strings.Contains(ae.Error, tc.msg) || resp.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s = %d %q (Allow %q), want %d %q (Allow %q)", tc.method, tc.url,
				resp.StatusCode, ae.Error, resp.Header.Get("Allow"), tc.code, tc.msg, tc.allow)
		}
	}
	if n := rl.n.Load(); n != 0 {
		t.Errorf("bad requests reloaded %d times", n)
	}
}

func TestReload(t *testing.T) {
	rl := &fakeReloader{}
	path, _ := serve(t, &fakeSource{}, rl)
	if err := Reload(ctxT(t), path); err != nil {
		t.Fatal(err)
	}
	rl.err = errTest("sctpguard.hcl:4: relay \"diameter\": quota.association: \"1XB\" is not a size")
	err := Reload(ctxT(t), path)
	want := "configuration not reloaded, nothing changed:\nsctpguard.hcl:4: relay \"diameter\": quota.association: \"1XB\" is not a size"
	if err == nil || err.Error() != want {
		t.Errorf("invalid reload: %v\nwant %s", err, want)
	}
	if n := rl.n.Load(); n != 2 {
		t.Errorf("reloads = %d, want 2", n)
	}
}

type errTest string

func (e errTest) Error() string { return string(e) }

func TestReloadUnsupported(t *testing.T) {
	path, _ := serve(t, &fakeSource{}, nil)
	err := Reload(ctxT(t), path)
	wantErrPrefix(t, err, "admin socket "+path+": POST /v1/reload: this daemon cannot reload over the admin API (HTTP 501)")
}

func TestListenDefaults(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run", "sctpguard")
	path := filepath.Join(dir, "admin.sock")
	srv, err := Listen(path, 0, "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want socket 0600", fi.Mode())
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o750 {
		t.Errorf("created directory mode %v, want 0750", di.Mode().Perm())
	}
}

func TestListenModeAndGroup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin.sock")
	srv, err := Listen(path, 0o660, "4242", "")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	fi, _ := os.Lstat(path)
	if fi.Mode().Perm() != 0o660 || gidOf(t, path) != 4242 {
		t.Errorf("socket %v gid %d, want 0660 gid 4242", fi.Mode().Perm(), gidOf(t, path))
	}
	if srv.access.gid != 4242 {
		t.Errorf("group allowed by peer check = %d, want 4242", srv.access.gid)
	}
}

func TestListenRefusesBadModeAndGroup(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		mode  os.FileMode
		group string
		msg   string
	}{
		{0o666, "", "mode 0666 gives others access"},
		{0o1600, "", "only permission bits are allowed"},
		{0o060, "", "must let the owner read and write"},
		{0o660, "no-such-group-sctpguard", `group "no-such-group-sctpguard"`},
	} {
		path := filepath.Join(dir, "admin.sock")
		_, err := Listen(path, tc.mode, tc.group, "")
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Listen(%#o, %q) = %v, want %q", tc.mode, tc.group, err, tc.msg)
		}
		if _, err := os.Lstat(path); err == nil {
			t.Errorf("Listen(%#o, %q) left a socket", tc.mode, tc.group)
		}
	}
}

func TestListenRemovesStaleSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin.sock")
	staleSocket(t, path)
	srv, err := Listen(path, 0, "", "")
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	serveOn(t, srv, &fakeSource{st: Status{Version: "new"}}, nil)
	st, err := Fetch(ctxT(t), path)
	if err != nil || st.Version != "new" {
		t.Fatalf("Fetch = %v, %v", st.Version, err)
	}
}

// staleSocket leaves a socket at path that nobody listens on, as a daemon
// killed with SIGKILL does.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
}

func TestListenRefusesLiveSocket(t *testing.T) {
	path, _ := serve(t, &fakeSource{st: Status{Version: "first"}}, nil)
	_, err := Listen(path, 0, "", "")
	if err == nil || err.Error() != "another sctpguard is running on "+path {
		t.Fatalf("second Listen = %v", err)
	}
	st, err := Fetch(ctxT(t), path)
	if err != nil || st.Version != "first" {
		t.Fatalf("first daemon after refused second: %v, %v", st.Version, err)
	}
}

func TestListenLeavesOtherFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin.sock")
	if err := os.WriteFile(path, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Listen(path, 0, "", "")
	wantErrPrefix(t, err, "admin socket "+path+": exists and is not a socket")
	if b, _ := os.ReadFile(path); string(b) != "keep" {
		t.Error("Listen changed a file that is not a socket")
	}
}

func TestFetchNoDaemon(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.sock")
	_, err := Fetch(ctxT(t), missing)
	wantErrPrefix(t, err, "no sctpguard running? cannot reach admin socket "+missing+": connect: no such file or directory")

	stale := filepath.Join(dir, "stale.sock")
	staleSocket(t, stale)
	_, err = Fetch(ctxT(t), stale)
	wantErrPrefix(t, err, "no sctpguard running? cannot reach admin socket "+stale+": connect: connection refused")
}

func TestServeRemovesSocketAndRefusesSecondCall(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin.sock")
	srv, err := Listen(path, 0, "", "")
	if err != nil {
		t.Fatal(err)
	}
	stop := serveOn(t, srv, &fakeSource{}, nil)
	if _, err := Fetch(ctxT(t), path); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(ctxT(t), &fakeSource{}, nil); err == nil {
		t.Error("second Serve returned nil")
	}
	stop()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("socket left after Serve: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("Close after Serve: %v", err)
	}
}

func TestServeWaitsForInFlight(t *testing.T) {
	src := &fakeSource{st: Status{Version: "slow"}, entered: make(chan struct{}), release: make(chan struct{})}
	path, stop := serve(t, src, nil)
	got := make(chan error, 1)
	go func() {
		st, err := Fetch(ctxT(t), path)
		if err == nil && st.Version != "slow" {
			err = errTest("version " + st.Version)
		}
		got <- err
	}()
	<-src.entered
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("Serve returned with a request in flight")
	case <-time.After(100 * time.Millisecond):
	}
	close(src.release)
	if err := <-got; err != nil {
		t.Errorf("in-flight request: %v", err)
	}
	<-stopped
}

func TestStatusErrorBodyIsReadable(t *testing.T) {
	// A non-JSON answer (not from sctpguard) still gives a message.
	path := filepath.Join(t.TempDir(), "other.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "short and stout")
	})}
	go hs.Serve(ln)
	defer hs.Close()
	_, err = Fetch(ctxT(t), path)
	wantErrPrefix(t, err, "admin socket "+path+`: GET /v1/status: unexpected answer "short and stout" (HTTP 418)`)
}

// TestPprof: Go's profiles are served on the admin socket, behind the same
// permission check as the API.
func TestPprof(t *testing.T) {
	path, _ := serve(t, &fakeSource{st: sampleStatus()}, nil)
	resp, err := rawClient(path).Get("http://x/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine profile:") {
		t.Fatalf("GET /debug/pprof/goroutine: %d %.200q", resp.StatusCode, body)
	}
}
