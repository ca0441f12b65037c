package main

import (
	"fmt"
	"io"

	"github.com/hashicorp/go-hclog"

	"github.com/sctpguard/sctpguard/config"
	"github.com/sctpguard/sctpguard/kaudit"
)

// audit lists what on this kernel defeats or weakens cfg's quotas.
func audit(cfg *config.Config) []kaudit.Finding {
	q := kaudit.Quotas{Global: cfg.Quota.Global}
	for _, r := range cfg.Relays {
		q.Association = max(q.Association, r.Quota.Association)
	}
	return kaudit.Audit(q)
}

// logAudit logs one line per finding at its severity.
func logAudit(log hclog.Logger, fs []kaudit.Finding) {
	for _, f := range fs {
		args := []any{"subject", f.Subject, "hint", f.Hint}
		switch f.Severity {
		case kaudit.Error:
			log.Error("kernel: "+f.Message, args...)
		case kaudit.Warn:
			log.Warn("kernel: "+f.Message, args...)
		default:
			log.Info("kernel: "+f.Message, args...)
		}
	}
}

func printAudit(w io.Writer, fs []kaudit.Finding) {
	for _, f := range fs {
		fmt.Fprintln(w, f.String())
	}
}
