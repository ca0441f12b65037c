package service

import (
	"os"
	"strings"
	"testing"
	"time"
)

// The shipped files, installed by hand as systemd/sctpguard.service says.
const (
	handBin      = "/usr/local/bin/sctpguard"
	handUnit     = "/etc/systemd/system/sctpguard.service"
	handSysusers = "/etc/sysusers.d/sctpguard.conf"
	configFile   = "/etc/sctpguard/sctpguard.hcl"
)

// TestShippedUnit installs the shipped unit by hand, as its header says, and
// runs it under the real systemd with the example config: as the system user
// sctpguard under the unit's syscall filter, it relays an association,
// reloads, and drains on stop; with admin.group the group's members may use
// the admin socket (no chown needed), and a group the daemon is not in fails
// with a message, not SIGSYS, until the unit's Group= names it.
func TestShippedUnit(t *testing.T) {
	installByHand(t)
	upstream := echoPeer(t)
	addUser(t, "alice", "sctpguard") // an operator in the group sctpguard
	addUser(t, "bob")                // anyone else

	t.Run("admin.group unset", func(t *testing.T) {
		writeConfig(t, exampleConfig(t, upstream, false))
		cl := startAndRelay(t)
		if _, err := statusAs(t, handBin, "alice"); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("alice, in group sctpguard, ran status on a 0600 socket: %v", err)
		}
		reloadRaisesQuota(t, cl, exampleConfig(t, upstream, false))
		stopDrains(t, cl)
	})
	t.Run("admin.group sctpguard", func(t *testing.T) {
		writeConfig(t, exampleConfig(t, upstream, true))
		cl := startAndRelay(t)
		if got := fileOwner(t, "/run/sctpguard/admin.sock"); got != "0660 sctpguard:sctpguard" {
			t.Errorf("admin socket is %s, want 0660 sctpguard:sctpguard", got)
		}
		if st, err := statusAs(t, handBin, "alice"); err != nil || len(st.Associations) != 1 {
			t.Errorf("alice, in group sctpguard: status %v, %d associations; want 1", err, len(st.Associations))
		}
		if _, err := statusAs(t, handBin, "bob"); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("bob, not in the group, ran status: %v", err)
		}
		reloadRaisesQuota(t, cl, exampleConfig(t, upstream, true))
		stopDrains(t, cl)
	})
	t.Run("admin.group another", func(t *testing.T) {
		must(t, "groupadd", "operators")
		t.Cleanup(func() { run("groupdel", "operators") })
		addUser(t, "carol", "operators")
		writeConfig(t, strings.Replace(exampleConfig(t, upstream, true), `group = "sctpguard"`, `group = "operators"`, 1))
		if out, err := run("systemctl", "start", unit); err == nil {
			t.Fatalf("started with admin.group operators, a group the daemon is not in:\n%s", out)
		}
		// The chown is refused (EPERM, by the filter or the kernel), and said so;
		// before SystemCallErrorNumber= the filter killed the daemon with SIGSYS.
		if r := property(t, "Result"); r != "exit-code" {
			t.Errorf("Result=%s, want exit-code (a signal means the syscall filter killed it)\n%s", r, journal())
		}
		waitJournal(t, 5*time.Second, "give it group operators", "operation not permitted", "Group=")
		// As the error says: Group=operators in a drop-in, the config still
		// readable through the group sctpguard.
		dropIn(t, "[Service]\nGroup=operators\nSupplementaryGroups=sctpguard\n")
		systemctl(t, "reset-failed", unit)
		cl := startAndRelay(t)
		if st, err := statusAs(t, handBin, "carol"); err != nil || len(st.Associations) != 1 {
			t.Errorf("carol, in group operators: status %v, %d associations; want 1", err, len(st.Associations))
		}
		if _, err := statusAs(t, handBin, "alice"); err == nil {
			t.Error("alice, not in group operators, ran status")
		}
		stopDrains(t, cl)
	})
}

// installByHand installs the binary, the system user, the unit and the config
// file as the unit's header says, and removes them all when the test ends.
func installByHand(t *testing.T) {
	t.Helper()
	must(t, "install", "-m", "0755", artifact("sctpguard"), handBin)
	must(t, "install", "-D", "-m", "0644", "../../systemd/sctpguard.sysusers", handSysusers)
	must(t, "systemd-sysusers")
	must(t, "install", "-m", "0644", "../../systemd/sctpguard.service", handUnit)
	must(t, "install", "-D", "-m", "0640", "-g", "sctpguard", "../../examples/sctpguard.hcl", configFile)
	systemctl(t, "daemon-reload")
	t.Cleanup(func() {
		run("systemctl", "stop", unit)
		os.RemoveAll("/etc/systemd/system/sctpguard.service.d")
		for _, f := range []string{handBin, handUnit, handSysusers, configFile} {
			os.Remove(f)
		}
		os.Remove("/etc/sctpguard")
		run("systemctl", "daemon-reload")
		run("systemctl", "reset-failed", unit)
		run("userdel", "sctpguard")
		run("groupdel", "sctpguard")
	})
}

// dropIn adds a drop-in to the unit.
func dropIn(t *testing.T, text string) {
	t.Helper()
	if err := os.MkdirAll("/etc/systemd/system/sctpguard.service.d", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/etc/systemd/system/sctpguard.service.d/group.conf", []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	systemctl(t, "daemon-reload")
}

// startAndRelay starts the unit, checks it runs as sctpguard, not root, and
// relays an association, and returns that association.
func startAndRelay(t *testing.T) *client {
	t.Helper()
	systemctl(t, "start", unit)
	if s := property(t, "ActiveState"); s != "active" {
		t.Fatalf("after start the unit is %s\n%s", s, journal())
	}
	if u := mainUser(t); u != "sctpguard" {
		t.Errorf("the daemon runs as %s, want sctpguard", u)
	}
	cl := dialFront(t)
	cl.exchange(t, 20)
	st, err := statusAs(t, handBin, "")
	if err != nil {
		t.Fatalf("status as root: %v", err)
	}
	if len(st.Associations) != 1 || st.Associations[0].Relay != "diameter" {
		t.Fatalf("status shows %+v, want the one association of relay diameter", st.Associations)
	}
	return cl
}

// reloadRaisesQuota edits quota.association of relay diameter from 1MiB to
// 2MiB, runs systemctl reload, and requires the live association to get it and
// to go on relaying.
func reloadRaisesQuota(t *testing.T, cl *client, cfg string) {
	t.Helper()
	const from, to = `association = "1MiB"`, `association = "2MiB"`
	if !strings.Contains(cfg, from) {
		t.Fatalf("config has no %s", from)
	}
	writeConfig(t, strings.Replace(cfg, from, to, 1))
	systemctl(t, "reload", unit)
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := statusAs(t, handBin, "")
		if err == nil && len(st.Associations) == 1 && st.Associations[0].Quota == 2<<20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after systemctl reload: status %v %+v, want the association's quota at 2MiB\n%s", err, st.Associations, journal())
		}
		time.Sleep(200 * time.Millisecond)
	}
	cl.exchange(t, 20)
	if s := property(t, "ActiveState"); s != "active" {
		t.Errorf("after reload the unit is %s", s)
	}
}

// stopDrains runs systemctl stop with the association open: the association
// ends gracefully (SHUTDOWN), the daemon logs it with reason drain, the unit
// stops with Result=success, and /run/sctpguard is gone.
func stopDrains(t *testing.T, cl *client) {
	t.Helper()
	ended := make(chan string, 1)
	go func() { ended <- cl.end(90 * time.Second) }()
	start := time.Now()
	systemctl(t, "stop", unit)
	took := time.Since(start)
	if how := <-ended; how != "shutdown" {
		t.Errorf("on systemctl stop the association ended with %s, want a graceful shutdown", how)
	}
	if r := property(t, "Result"); r != "success" {
		t.Errorf("after stop Result=%s, want success\n%s", r, journal())
	}
	waitJournal(t, 5*time.Second, "association ended", "reason=drain")
	if _, err := os.Stat("/run/sctpguard"); !os.IsNotExist(err) {
		t.Errorf("/run/sctpguard after stop: %v", err)
	}
	t.Logf("systemctl stop with one association took %v", took.Round(time.Millisecond))
}
