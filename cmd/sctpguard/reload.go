package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/sctpguard/sctpguard/admin"
	"github.com/sctpguard/sctpguard/config"
)

// reloadCmd asks the running daemon to re-read its configuration file, like
// SIGHUP, but answers with the outcome: the diagnostics of a refused file are
// printed here rather than only logged.
func reloadCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("reload", "sctpguard reload [-s SOCKET]",
		`Asks the running daemon to re-read its configuration file (the one it was
started with) and put it in force, like SIGHUP, and prints the outcome. If the
file is invalid, every problem is printed and the running configuration stays.

Examples:
  sctpguard reload
  sctpguard check -c /etc/sctpguard/sctpguard.hcl && sctpguard reload
  sctpguard reload -s /run/sctpguard/admin.sock`, stderr)
	sock := fs.String("s", config.DefaultAdminSocket, "admin `socket` of the daemon")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := admin.Reload(ctx, *sock); err != nil {
		fmt.Fprintf(stderr, "sctpguard reload: %v\n", err)
		return exitFailure
	}
	fmt.Fprintln(stdout, "reloaded: the new configuration is in force")
	return exitOK
}
