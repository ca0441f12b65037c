// Package service tests sctpguard as an operator installs it, under a real
// systemd: the shipped unit (systemd/sctpguard.service) installed by hand, and
// the Debian package `make deb` builds, installed with dpkg. Both start the
// service, relay an association to a peer, reload, stop (drain) and, for the
// package, upgrade in place and remove it.
//
// The tests install files, users and packages, so they never run on the host:
// rig.MainSystemd boots a VM whose PID 1 is the host's systemd, over the host's
// root shared read-only under a throwaway tmpfs overlay, and runs them there.
//
//	+------------------- VM, systemd as PID 1 ---------------------+
//	| test (rig-command.service)          sctpguard.service        |
//	|   client --SCTP--> 127.0.0.1:3868 --> relay "diameter" --+   |
//	|   echo peer <---------------------SCTP--------------------+  |
//	|   systemctl start/reload/stop, dpkg -i/-r/--purge            |
//	+--------------------------------------------------------------+
package service

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sctpguard/sctpguard/test/rig"
)

// artifactsEnv names the folder holding what the host built for the guest: the
// binary (sctpguard) and two Debian packages of the same tree, an older and a
// newer version (debVersions).
const artifactsEnv = "SCTPGUARD_SERVICE_ARTIFACTS"

// debVersions are the versions of the two packages, in upgrade order.
var debVersions = [2]string{"0.0.1~test", "0.0.2~test"}

func TestMain(m *testing.M) {
	if os.Getenv(artifactsEnv) != "" {
		os.Exit(rig.MainSystemd(m))
	}
	dir, err := os.MkdirTemp("", "sctpguard-service-")
	if err == nil {
		err = build(dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		os.Exit(1)
	}
	os.Setenv(artifactsEnv, dir)
	code := rig.MainSystemd(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// build puts the binary and both packages in dir, with make deb as a user
// runs it.
func build(dir string) error {
	out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "sctpguard"), "github.com/sctpguard/sctpguard/cmd/sctpguard").CombinedOutput()
	if err != nil {
		return fmt.Errorf("build sctpguard: %v\n%s", err, out)
	}
	for _, v := range debVersions {
		cmd := exec.Command("make", "--no-print-directory", "-C", "../..", "deb", "VERSION="+v, "DEB_DIR="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("make deb VERSION=%s: %v\n%s", v, err, out)
		}
	}
	return nil
}

// artifact is the path of a file the host built.
func artifact(name string) string { return filepath.Join(os.Getenv(artifactsEnv), name) }

// debFile is the package of version v.
func debFile(t *testing.T, v string) string {
	t.Helper()
	m, err := filepath.Glob(artifact("sctpguard_" + v + "_*.deb"))
	if err != nil || len(m) != 1 {
		t.Fatalf("package %s: found %v (%v)", v, m, err)
	}
	return m[0]
}
