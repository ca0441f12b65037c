package service

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The files the package installs that matter to the tests.
const (
	debBin  = "/usr/bin/sctpguard"
	debUnit = "/lib/systemd/system/sctpguard.service"
)

// TestDebianPackage installs the package from make deb with dpkg -i on the
// guest's root, where no sctpguard was, starts it under systemd and relays an
// association; upgrades it in place with a newer build while that association
// lives; restarts it onto the new version; and removes and purges it, leaving
// nothing behind.
//
// sctpguard cannot hand its sockets to a new process: an upgrade leaves the
// running daemon (and its associations) alone, and the restart that puts the
// new version in force drains every association — this test shows both.
func TestDebianPackage(t *testing.T) {
	old, new := debVersions[0], debVersions[1]
	requireClean(t)
	upstream := echoPeer(t)
	// man-db's trigger rebuilds the whole index for the man page, minutes under
	// TCG: Debian's own switch turns it off on this throwaway root.
	os.Remove("/var/lib/man-db/auto-update")

	out := must(t, "dpkg", "-i", debFile(t, old))
	t.Logf("dpkg -i %s:\n%s", old, out)
	if v := installedVersion(t); v != "install ok installed "+old {
		t.Fatalf("after dpkg -i: %s", v)
	}
	if s := property(t, "UnitFileState") + " " + property(t, "ActiveState"); s != "disabled inactive" {
		t.Errorf("after a first install the unit is %s, want disabled inactive (its config names example peers)", s)
	}
	if got := fileOwner(t, configFile); got != "0640 root:sctpguard" {
		t.Errorf("%s is %s, want 0640 root:sctpguard", configFile, got)
	}
	for _, f := range []string{debBin, debUnit, "/usr/lib/sysusers.d/sctpguard.conf",
		"/usr/share/man/man1/sctpguard.1.gz", "/usr/share/doc/sctpguard/operations.md",
		"/usr/share/doc/sctpguard/examples/sctpguard.hcl"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("the package did not install %s: %v", f, err)
		}
	}
	if out, err := run("systemd-analyze", "verify", "--man=no", debUnit); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify %s: %v\n%s", debUnit, err, out)
	}

	writeConfig(t, exampleConfig(t, upstream, true))
	systemctl(t, "enable", "--now", unit)
	if u := mainUser(t); u != "sctpguard" {
		t.Errorf("the daemon runs as %s, want sctpguard", u)
	}
	live := dialFront(t)
	live.exchange(t, 20)
	requireDaemonVersion(t, old)

	// Upgrade in place, the association open.
	pid := property(t, "MainPID")
	out = must(t, "dpkg", "-i", debFile(t, new))
	t.Logf("dpkg -i %s:\n%s", new, out)
	if v := installedVersion(t); v != "install ok installed "+new {
		t.Fatalf("after the upgrade: %s", v)
	}
	if p := property(t, "MainPID"); p != pid {
		t.Errorf("the upgrade restarted the daemon (pid %s, was %s)", p, pid)
	}
	live.exchange(t, 20) // the association lives on
	if v := must(t, debBin, "version"); !strings.Contains(v, new) {
		t.Errorf("the installed binary says %q, want %s", v, new)
	}
	requireDaemonVersion(t, old) // and the running daemon is the old one
	if out, err := run("cmp", configFile, "../../examples/sctpguard.hcl"); err == nil {
		t.Errorf("the upgrade replaced the edited config with the example:\n%s", out)
	}

	// The restart that runs the new version drains the live association.
	ended := make(chan string, 1)
	go func() { ended <- live.end(90 * time.Second) }()
	systemctl(t, "restart", unit)
	if how := <-ended; how != "shutdown" {
		t.Errorf("on restart the live association ended with %s, want a graceful shutdown (drain)", how)
	}
	requireDaemonVersion(t, new)
	again := dialFront(t)
	again.exchange(t, 20)

	// Remove: the daemon drains and stops, the unit is gone, the config stays.
	go func() { ended <- again.end(90 * time.Second) }()
	out = must(t, "dpkg", "-r", "sctpguard")
	t.Logf("dpkg -r:\n%s", out)
	if how := <-ended; how != "shutdown" {
		t.Errorf("on dpkg -r the association ended with %s, want a graceful shutdown (drain)", how)
	}
	if v := installedVersion(t); v != "deinstall ok config-files "+new {
		t.Errorf("after dpkg -r: %s", v)
	}
	if s := property(t, "LoadState"); s != "not-found" {
		t.Errorf("after dpkg -r systemd still has the unit: LoadState=%s", s)
	}
	if _, err := os.Stat(configFile); err != nil {
		t.Errorf("dpkg -r removed the config file, which only a purge should: %v", err)
	}

	// Purge: nothing left.
	must(t, "dpkg", "--purge", "sctpguard")
	requireClean(t)
}

// requireClean fails unless no trace of sctpguard is on the system: no
// package, unit, files, running daemon or system user.
func requireClean(t *testing.T) {
	t.Helper()
	if out, err := run("dpkg-query", "-W", "-f", "${Status}", "sctpguard"); err == nil && strings.TrimSpace(out) != "" {
		t.Errorf("dpkg knows sctpguard: %s", out)
	}
	if s := property(t, "LoadState") + " " + property(t, "ActiveState"); s != "not-found inactive" {
		t.Errorf("systemd has sctpguard.service: %s", s)
	}
	for _, u := range []string{"passwd", "group"} {
		if out, err := run("getent", u, "sctpguard"); err == nil {
			t.Errorf("getent %s sctpguard: %s", u, out)
		}
	}
	for _, dir := range []string{"/etc", "/lib/systemd", "/usr/bin", "/usr/local/bin", "/usr/lib/sysusers.d",
		"/usr/share/doc", "/usr/share/man/man1", "/var/lib/dpkg/info", "/run"} {
		filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && strings.Contains(d.Name(), "sctpguard") {
				t.Errorf("left behind: %s", path)
			}
			return nil
		})
	}
}

// installedVersion is dpkg's status and version of the package.
func installedVersion(t *testing.T) string {
	t.Helper()
	out, _ := run("dpkg-query", "-W", "-f", "${Status} ${Version}", "sctpguard")
	return strings.TrimSpace(out)
}

// requireDaemonVersion requires the running daemon to report version v.
func requireDaemonVersion(t *testing.T, v string) {
	t.Helper()
	st, err := statusAs(t, debBin, "")
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	if !strings.Contains(st.Version, " "+v+" ") {
		t.Errorf("the running daemon is %q, want version %s", st.Version, v)
	}
}
