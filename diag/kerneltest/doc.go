// Package kerneltest runs package diag against a real SCTP kernel: in the
// test VM (see test/rig) where this host has no SCTP, natively where it has.
// It is a package of its own so that diag's parser tests and fuzz target stay
// on the host; it has no code but its tests, which use only diag's exported
// API.
package kerneltest
