// Package integration tests the sctpguard binary against a real kernel: its own
// sctpsock clients and servers, lksctp-tools and socat as peers. Outside a kernel with
// SCTP, the rig runs these tests in a VM.
package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sctpguard/sctpguard/test/rig"
)

// binEnv names the sctpguard binary under test; TestMain builds it when unset.
const binEnv = "SCTPGUARD_BIN"

func TestMain(m *testing.M) {
	if addr := os.Getenv(echoPeerEnv); addr != "" {
		os.Exit(serveEchoPeer(addr)) // a peer process of TestFaultCampaign
	}
	if os.Getenv(binEnv) == "" {
		dir, err := os.MkdirTemp("", "sctpguard-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "FAIL:", err)
			os.Exit(1)
		}
		bin := filepath.Join(dir, "sctpguard")
		out, err := exec.Command("go", "build", "-o", bin, "github.com/sctpguard/sctpguard/cmd/sctpguard").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: build sctpguard: %v\n%s", err, out)
			os.Exit(1)
		}
		os.Setenv(binEnv, bin)
		code := rig.Main(m)
		os.RemoveAll(dir)
		os.Exit(code)
	}
	os.Exit(rig.Main(m))
}
