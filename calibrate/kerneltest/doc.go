// Package kerneltest runs package calibrate against a real SCTP kernel: in the
// test VM (see test/rig) where this host has no SCTP, natively where it has.
// It is a package of its own so that calibrate's pure-logic tests stay on the
// host; it has no code but its tests.
package kerneltest
