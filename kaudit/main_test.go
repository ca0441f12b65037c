package kaudit_test

import (
	"os"
	"testing"

	"github.com/sctpguard/sctpguard/test/rig"
)

// TestMain runs the package's tests in a VM with a real SCTP kernel when this
// host has none (see test/rig). Only TestAuditThisKernel needs it; the others
// read fake /proc and /sys trees from testdata and pass anywhere.
func TestMain(m *testing.M) { os.Exit(rig.Main(m)) }
