package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = dispatch(args, &o, &e)
	return code, o.String(), e.String()
}

func TestHelpShowsExamples(t *testing.T) {
	code, out, _ := runCLI("--help")
	if code != exitOK || !strings.Contains(out, "Examples:") || !strings.Contains(out, "sctpguard run -c") {
		t.Fatalf("--help: code %d\n%s", code, out)
	}
	for _, c := range []string{"run", "check", "status", "version"} {
		code, _, errOut := runCLI(c, "--help")
		if code != exitOK || !strings.Contains(errOut, "Examples:") {
			t.Errorf("%s --help: code %d\n%s", c, code, errOut)
		}
	}
}

func TestUnknownCommandIsUsageError(t *testing.T) {
	if code, _, errOut := runCLI("frobnicate"); code != exitUsage || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Fatalf("code %d: %s", code, errOut)
	}
}

func TestCheckReportsEveryProblemWithPosition(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.hcl")
	os.WriteFile(path, []byte("relay \"a\" {\n  listen = [\"nowhere\"]\n  upstream = [\"127.0.0.1:0\"]\n}\nquota {\n  global = \"12XB\"\n}\n"), 0o600)
	code, _, errOut := runCLI("check", "-c", path)
	if code != exitConfig {
		t.Fatalf("check of a broken file: code %d, want %d\n%s", code, exitConfig, errOut)
	}
	for _, want := range []string{path + ":2:", path + ":3:", path + ":6:", "nothing was started"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("check output lacks %q:\n%s", want, errOut)
		}
	}
}

func TestCheckValidExample(t *testing.T) {
	code, out, errOut := runCLI("check", "-c", "../../examples/sctpguard.hcl")
	if code != exitOK || !strings.Contains(out, "ok (") {
		t.Fatalf("check of the shipped example: code %d\n%s%s", code, out, errOut)
	}
}

func TestVersion(t *testing.T) {
	if code, out, _ := runCLI("version"); code != exitOK || !strings.HasPrefix(out, "sctpguard ") {
		t.Fatalf("version: %d %q", code, out)
	}
}
