// Command sctpguard is an SCTP relay that holds every association to a memory quota.
//
// It only parses flags and wires the packages together; see the README for the
// commands, their flags and exit codes.
package main

import (
	"fmt"
	"io"
	"os"
)

// Exit codes, documented in the README and in --help.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed (a socket, the kernel, the daemon)
	exitUsage   = 2 // bad flags or arguments
	exitConfig  = 3 // the configuration is invalid
)

type command struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"run", "run the relay", runCmd},
		{"check", "validate a configuration file and audit the kernel", checkCmd},
		{"status", "show every association of the running daemon", statusCmd},
		{"reload", "make the running daemon re-read its configuration", reloadCmd},
		{"calibrate", "measure this kernel's memory per message and print the cost block", calibrateCmd},
		{"version", "print the version", versionCmd},
	}
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "sctpguard: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `sctpguard relays SCTP associations message by message and holds each to a memory quota.

Usage:
  sctpguard <command> [flags]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Examples:
  sctpguard run -c /etc/sctpguard/sctpguard.hcl
  sctpguard check -c ./sctpguard.hcl
  sctpguard calibrate
  sctpguard status
  sctpguard reload
  sctpguard version

Socket styles (relay listen_style): "one_to_one" (default) gives every front
association a socket of its own. "one_to_many" holds them all on one shared
SOCK_SEQPACKET socket, which needs quota.socket: its associations share one
receive queue, so when one association's upstream stalls, sctpguard queues its
messages up to quota.association and the relay's holdings up to quota.socket,
then stops reading the socket and every association on it waits.

Run "sctpguard <command> --help" for a command's flags.
Exit codes: 0 ok, 1 failure, 2 usage error, 3 invalid configuration.
`)
}
