//go:build !linux

package config

// ReadHost returns an unknown Host: sctpguard runs on Linux only.
func ReadHost() Host { return Host{} }
