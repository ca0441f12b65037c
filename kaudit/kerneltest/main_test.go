package kerneltest

import (
	"os"
	"testing"

	"github.com/sctpguard/sctpguard/test/rig"
)

// TestMain runs the package's tests in a VM with a real SCTP kernel when this
// host has none (see test/rig).
func TestMain(m *testing.M) { os.Exit(rig.Main(m)) }
