// Package kerneltest runs package sctpsock against a real SCTP kernel: in the
// test VM (see test/rig) where this host has no SCTP, natively where it has.
// It is a package of its own so that sctpsock's pure-logic tests (the wire
// format, notifications, /proc parsing, struct layouts and their fuzz targets)
// stay on the host; it has no code but its tests, which use only sctpsock's
// exported API.
package kerneltest
