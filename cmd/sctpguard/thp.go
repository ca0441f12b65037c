package main

import (
	"os"
	"strings"
	"syscall"
)

// withoutHugePages makes the daemon run with transparent huge pages off for the Go
// heap (GODEBUG=disablethp=1): with them its first heap growth takes 2 MiB pages,
// several MiB of resident memory that a daemon whose job is to bound memory should
// not hold for nothing. The setting is read only at start, so the process executes
// itself again once with it, keeping its PID; if that fails it runs as it is. An
// explicit disablethp in GODEBUG is left alone.
func withoutHugePages() {
	godebug := os.Getenv("GODEBUG")
	if strings.Contains(godebug, "disablethp=") {
		return
	}
	with := "disablethp=1"
	if godebug != "" {
		with = godebug + "," + with
	}
	os.Setenv("GODEBUG", with)
	syscall.Exec("/proc/self/exe", os.Args, os.Environ())
	os.Setenv("GODEBUG", godebug) // the exec failed: run as we are
}
