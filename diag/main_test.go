package diag

import (
	"flag"
	"os"
	"testing"

	"github.com/sctpguard/sctpguard/test/rig"
)

// TestMain runs the package's tests in a VM with a real SCTP kernel when this
// host has none (see test/rig). Fuzzing stays on the host: the parser needs
// no SCTP, and the VM emulates its CPU about ten times slower.
func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		os.Exit(m.Run())
	}
	os.Exit(rig.Main(m))
}
