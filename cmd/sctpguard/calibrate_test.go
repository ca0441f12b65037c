package main

import (
	"strings"
	"testing"

	"github.com/sctpguard/sctpguard/calibrate"
	"github.com/sctpguard/sctpguard/config"
	"github.com/sctpguard/sctpguard/sctpsock"
)

func TestCalibrateHelp(t *testing.T) {
	code, _, errOut := runCLI("calibrate", "--help")
	if code != exitOK {
		t.Fatalf("calibrate --help: code %d\n%s", code, errOut)
	}
	for _, want := range []string{"Usage: sctpguard calibrate", "MemAvailable", "Examples:", "sctpguard calibrate -sizes", "-max-mem", "-json", "-block", "header", "sctpguard calibrate -q -block >>", "Exit codes:"} {
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
		{[]string{"--json", "-block"}, "--json and -block: choose one"},
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

// TestCalibrateBlockParses checks that what -block prints on stdout, appended
// to a configuration, parses and sets both cost fields.
func TestCalibrateBlockParses(t *testing.T) {
	rep := &calibrate.Report{Header: 544, Overhead: 768, Block: calibrate.ConfigBlock(544, 768),
		Explanation: "on Linux test", Notes: []string{"a note"}}
	var out, errOut strings.Builder
	if err := writeBlock(rep, &out, &errOut, false); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "cost {") || !strings.Contains(errOut.String(), "note: a note") || !strings.Contains(errOut.String(), "# on Linux test") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	}
	src := "relay \"r\" {\n  listen = [\"127.0.0.1:3868\"]\n  upstream = [\"127.0.0.1:3869\"]\n}\n" + out.String()
	cfg, err := config.Parse([]byte(src), "sctpguard.hcl")
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	if cfg.Cost.Header != 544 || cfg.Cost.Overhead != 768 {
		t.Errorf("cost.header %d, cost.overhead %d; want 544, 768", cfg.Cost.Header, cfg.Cost.Overhead)
	}
	out.Reset()
	errOut.Reset()
	if err := writeBlock(rep, &out, &errOut, true); err != nil || errOut.Len() != 0 {
		t.Errorf("-q: %v, stderr %q", err, errOut.String())
	}
}
