// Package kerneltest audits the kernel the tests run on with package kaudit:
// the test VM's (see test/rig) where this host has no SCTP, this host's where
// it has. It is a package of its own so that kaudit's tests against the fake
// /proc and /sys trees in its testdata stay on the host; it has no code but
// its tests.
package kerneltest
