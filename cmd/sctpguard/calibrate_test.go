package main

import (
	"strings"
	"testing"

	"github.com/sctpguard/sctpguard/sctpsock"
)

func TestCalibrateHelp(t *testing.T) {
	code, _, errOut := runCLI("calibrate", "--help")
	if code != exitOK {
		t.Fatalf("calibrate --help: code %d\n%s", code, errOut)
	}
	for _, want := range []string{"Usage: sctpguard calibrate", "MemAvailable", "Examples:", "sctpguard calibrate -sizes", "-max-mem", "-json", "Exit codes:"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("calibrate --help lacks %q:\n%s", want, errOut)
		}
	}
	if _, out, _ := runCLI("--help"); !strings.Contains(out, "calibrate") {
		t.Errorf("sctpguard --help does not list calibrate:\n%s", out)
	}
}

func TestCalibrateUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-sizes", "1,12XB"}, `-sizes: "12XB"`},
		{[]string{"-sizes", "1,100KiB"}, `-sizes: "100KiB": want 1B..64KiB`},
		{[]string{"-max-mem", "1MiB"}, "max memory"},
		{[]string{"-rounds", "0"}, "-rounds 0: want at least 1"},
		{[]string{"-messages", "0"}, "-messages 0: want at least 1"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		code, _, errOut := runCLI(append([]string{"calibrate"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("calibrate %v: code %d, want %d and %q:\n%s", tc.args, code, exitUsage, tc.want, errOut)
		}
	}
}

func TestCalibrateWithoutSCTP(t *testing.T) {
	if sctpsock.Supported() == nil {
		t.Skip("this kernel has SCTP; calibrate/kerneltest runs a calibration")
	}
	code, out, errOut := runCLI("calibrate", "-q")
	if code != exitFailure || out != "" || !strings.Contains(errOut, "kernel has no SCTP: try modprobe sctp") {
		t.Fatalf("code %d, want %d and the error run gives\nstdout: %s\nstderr: %s", code, exitFailure, out, errOut)
	}
}
