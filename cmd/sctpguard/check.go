package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/sctpguard/sctpguard/config"
)

func checkCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("check", "sctpguard check [-c FILE]",
		"Validates FILE and prints every problem as file:line:col: field: message.\n\nExamples:\n  sctpguard check -c /etc/sctpguard/sctpguard.hcl\n  sctpguard check -c examples/sctpguard.hcl && systemctl reload sctpguard", stderr)
	path := fs.String("c", config.DefaultPath, "configuration `file`")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	cfg, code := loadConfig(*path, stderr)
	if cfg == nil {
		return code
	}
	fmt.Fprintf(stdout, "%s: ok (%d relays)\n", *path, len(cfg.Relays))
	printAudit(stdout, audit(cfg))
	return exitOK
}

// loadConfig loads path and prints every problem; cfg is nil on failure.
func loadConfig(path string, stderr io.Writer) (*config.Config, int) {
	cfg, err := config.Load(path, config.WithHost(config.ReadHost()))
	var cerr *config.Error
	switch {
	case errors.As(err, &cerr):
		cerr.WriteTo(stderr)
		fmt.Fprintf(stderr, "%s: %d problems; nothing was started\n", path, len(cerr.Diags))
		return nil, exitConfig
	case err != nil:
		fmt.Fprintf(stderr, "sctpguard: %v\n", err)
		return nil, exitConfig
	}
	return cfg, exitOK
}
