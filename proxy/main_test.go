package proxy

import (
	"os"
	"testing"

	"github.com/sctpguard/sctpguard/test/rig"
)

// TestMain runs the package's tests and benchmarks where the kernel has SCTP: here,
// or in the test VM.
func TestMain(m *testing.M) { os.Exit(rig.Main(m)) }
