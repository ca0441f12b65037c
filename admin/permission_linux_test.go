package admin

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// nobody is the unprivileged user the permission tests run a client as.
const nobody = 65534

// TestSocketRefusesUserWithoutPermission is the real check: a user the
// socket's mode does not admit is refused by the kernel and told who may use
// the socket.
func TestSocketRefusesUserWithoutPermission(t *testing.T) {
	dir := sharedDir(t)
	path := filepath.Join(dir, "admin.sock")
	srv, err := Listen(path, 0, "", "")
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, srv, &fakeSource{st: Status{Version: "x"}}, nil)

	want := "permission=true\npermission denied on " + path + ": run as root\n"
	if got := fetchAs(t, dir, path, nil); got != want {
		t.Errorf("mode 0600: nobody got\n%swant\n%s", got, want)
	}
	if err := os.Chmod(path, 0); err != nil {
		t.Fatal(err)
	}
	if got := fetchAs(t, dir, path, nil); got != want {
		t.Errorf("mode 0000: nobody got\n%swant\n%s", got, want)
	}
}

// TestPeerCheckRefusesUserTheModeLetsIn checks the defence in depth: a
// socket made world-writable by hand still refuses nobody.
func TestPeerCheckRefusesUserTheModeLetsIn(t *testing.T) {
	dir := sharedDir(t)
	path := filepath.Join(dir, "admin.sock")
	srv, err := Listen(path, 0, "", "")
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, srv, &fakeSource{st: Status{Version: "x"}}, nil)
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	got := fetchAs(t, dir, path, nil)
	want := "permission=true\npermission denied on " + path + ": uid 65534 (pid "
	if !strings.HasPrefix(got, want) || !strings.HasSuffix(got, ") may not use the admin API: run as root\n") {
		t.Errorf("nobody got\n%swant\n%s...) may not use the admin API: run as root", got, want)
	}
}

// TestGroupMembersAdmitted checks that the configured group is given the
// socket and that its members — by primary or supplementary group — get in,
// while others are told to join it.
func TestGroupMembersAdmitted(t *testing.T) {
	dir := sharedDir(t)
	path := filepath.Join(dir, "admin.sock")
	srv, err := Listen(path, 0o660, "4242", "")
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, srv, &fakeSource{st: Status{Version: "grouped"}}, nil)

	if got := fetchAs(t, dir, path, []uint32{4242}); got != "ok grouped\n" {
		t.Errorf("supplementary member of 4242 got\n%s", got)
	}
	want := "permission=true\npermission denied on " + path + ": run as root or as a member of group " + groupName(4242) + "\n"
	if got := fetchAs(t, dir, path, []uint32{4243}); got != want {
		t.Errorf("non-member got\n%swant\n%s", got, want)
	}
	// By primary group: nobody's own.
	path = filepath.Join(dir, "primary.sock")
	srv, err = Listen(path, 0o660, "65534", "")
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, srv, &fakeSource{st: Status{Version: "primary"}}, nil)
	if got := fetchAs(t, dir, path, nil); got != "ok primary\n" {
		t.Errorf("primary member got\n%s", got)
	}
}

// TestReadGroupReadsOnly: a member of admin.read_group may read the status
// but not reload (nor profile), and is told who may; a member of admin.group,
// in the read group too so that it can connect, may do both.
func TestReadGroupReadsOnly(t *testing.T) {
	dir := sharedDir(t)
	path := filepath.Join(dir, "admin.sock")
	srv, err := Listen(path, 0o660, "4242", "4343")
	if err != nil {
		t.Fatal(err)
	}
	if g := gidOf(t, path); g != 4343 {
		t.Errorf("socket group %d, want the read group 4343", g)
	}
	rl := &countingReloader{}
	serveOn(t, srv, &fakeSource{st: Status{Version: "split"}}, rl)

	got := fetchAsWith(t, dir, path, []uint32{4343}, true)
	if !strings.HasPrefix(got, "ok split\nreload: permission denied on "+path+": uid 65534 (pid ") ||
		!strings.Contains(got, ") may read the status but not change or profile the daemon: run as root or as a member of group "+groupName(4242)) {
		t.Errorf("read group member got\n%s", got)
	}
	if n := rl.n.Load(); n != 0 {
		t.Fatalf("a read group member's reload ran (%d reloads)", n)
	}
	if got := fetchAsWith(t, dir, path, []uint32{4343, 4242}, true); got != "ok split\nreload: <nil>\n" {
		t.Errorf("full group member got\n%s", got)
	}
	if n := rl.n.Load(); n != 1 {
		t.Errorf("%d reloads after the full group member's, want 1", n)
	}
}

type countingReloader struct{ n atomic.Int32 }

func (r *countingReloader) Reload() error { r.n.Add(1); return nil }

// sharedDir returns a fresh directory that nobody can enter, holding a copy
// of the test binary nobody can run (the build directory is root's only).
func sharedDir(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a client as uid 65534")
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	copyFile(t, self, filepath.Join(dir, "admin.test"))
	return dir
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// fetchAs runs the test binary in dir as uid and gid 65534 with the
// supplementary groups given, fetching from path, and returns what it
// printed (see fetchAndReport).
func fetchAs(t *testing.T, dir, path string, groups []uint32) string {
	t.Helper()
	return fetchAsWith(t, dir, path, groups, false)
}

// fetchAsWith is fetchAs, then a reload if reload is set.
func fetchAsWith(t *testing.T, dir, path string, groups []uint32, reload bool) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(dir, "admin.test"))
	cmd.Dir = "/"
	// The race runtime otherwise sleeps a second at exit.
	cmd.Env = []string{helperEnv + "=" + path, "GORACE=atexit_sleep_ms=0"}
	if reload {
		cmd.Env = append(cmd.Env, reloadEnv+"=1")
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: groups},
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper as uid %d: %v\n%s", nobody, err, stderr.String())
	}
	return string(out)
}
