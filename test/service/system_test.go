package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/admin"
)

// unit is the service every test starts.
const unit = "sctpguard.service"

// run runs a command as root and returns its output, stdout and stderr merged.
func run(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "SYSTEMD_COLORS=0", "SYSTEMD_PAGER=", "DEBIAN_FRONTEND=noninteractive")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// must runs a command that has to succeed; on failure the test ends with the
// command's output and the unit's journal.
func must(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := run(name, args...)
	if err != nil {
		t.Fatalf("%v\n--- journal of %s ---\n%s", err, unit, journal())
	}
	return out
}

// systemctl runs systemctl, which must succeed.
func systemctl(t *testing.T, args ...string) string {
	t.Helper()
	return must(t, "systemctl", append([]string{"--no-pager"}, args...)...)
}

// property is one property of the unit, as systemctl show gives it.
func property(t *testing.T, name string) string {
	t.Helper()
	return strings.TrimSpace(systemctl(t, "show", "--value", "-p", name, unit))
}

// journal is the unit's journal, messages only.
func journal() string {
	out, _ := run("journalctl", "--no-pager", "-o", "cat", "-u", unit)
	return out
}

// waitJournal waits until the unit's journal has a line containing every one
// of subs.
func waitJournal(t *testing.T, timeout time.Duration, subs ...string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, line := range strings.Split(journal(), "\n") {
			if containsAll(line, subs) {
				return line
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no journal line with %q within %v:\n%s", subs, timeout, journal())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// mainUser is the user the unit's main process runs as.
func mainUser(t *testing.T) string {
	t.Helper()
	pid := property(t, "MainPID")
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Fatalf("main process %s: %v", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" {
			u, err := user.LookupId(f[1])
			if err != nil {
				return f[1]
			}
			return u.Username
		}
	}
	t.Fatalf("no Uid in /proc/%s/status", pid)
	return ""
}

// addUser creates a login-less user in the groups given.
func addUser(t *testing.T, name string, groups ...string) {
	t.Helper()
	args := []string{"--no-create-home", "--shell", "/usr/sbin/nologin"}
	if len(groups) > 0 {
		args = append(args, "--groups", strings.Join(groups, ","))
	}
	must(t, "useradd", append(args, name)...)
	t.Cleanup(func() { run("userdel", name) })
}

// statusAs runs `sctpguard status --json` as the user name (root if empty),
// with that user's groups, as a login would give them.
func statusAs(t *testing.T, bin, name string) (admin.Status, error) {
	t.Helper()
	cmd := exec.Command(bin, "status", "--json")
	cmd.Dir = "/"
	if name != "" {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: credential(t, name)}
	}
	out, err := cmd.Output()
	var st admin.Status
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return st, fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		return st, err
	}
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("status JSON: %v\n%s", err, out)
	}
	return st, nil
}

func credential(t *testing.T, name string) *syscall.Credential {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	gids, err := u.GroupIds()
	if err != nil {
		t.Fatal(err)
	}
	c := &syscall.Credential{Uid: atoi(t, u.Uid), Gid: atoi(t, u.Gid)}
	for _, g := range gids {
		c.Groups = append(c.Groups, atoi(t, g))
	}
	return c
}

func atoi(t *testing.T, s string) uint32 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(n)
}

// fileOwner is the mode, owner and group of a file, as "0640 root:sctpguard".
func fileOwner(t *testing.T, path string) string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	u, g := strconv.Itoa(int(st.Uid)), strconv.Itoa(int(st.Gid))
	if x, err := user.LookupId(u); err == nil {
		u = x.Username
	}
	if x, err := user.LookupGroupId(g); err == nil {
		g = x.Name
	}
	return fmt.Sprintf("%04o %s:%s", fi.Mode().Perm(), u, g)
}
