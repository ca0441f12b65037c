package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/sctpguard/sctpguard/admin"
	"github.com/sctpguard/sctpguard/config"
)

func statusCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("status", "sctpguard status [--json] [-s SOCKET]",
		"Prints every association of the running daemon: relay, peers, messages and bytes\neach way, held vs quota (sctpguard and kernel), peer window, time blocked, age.\n\nExamples:\n  sctpguard status\n  sctpguard status --json | jq '.associations[] | select(.held_to_front > 0)'\n  sctpguard status -s /run/sctpguard/admin.sock", stderr)
	asJSON := fs.Bool("json", false, "print JSON (field names are stable) instead of a table")
	sock := fs.String("s", config.DefaultAdminSocket, "admin `socket` of the daemon")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := admin.Fetch(ctx, *sock)
	if err != nil {
		fmt.Fprintf(stderr, "sctpguard status: %v\n", err)
		return exitFailure
	}
	if *asJSON {
		err = admin.WriteJSON(stdout, st)
	} else {
		err = admin.WriteTable(stdout, st)
	}
	if err != nil {
		fmt.Fprintf(stderr, "sctpguard status: %v\n", err)
		return exitFailure
	}
	return exitOK
}
