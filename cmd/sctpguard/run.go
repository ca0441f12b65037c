package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sync/errgroup"

	"github.com/sctpguard/sctpguard/admin"
	"github.com/sctpguard/sctpguard/config"
	"github.com/sctpguard/sctpguard/proxy"
	"github.com/sctpguard/sctpguard/sctpsock"
	"github.com/sctpguard/sctpguard/sdnotify"
)

func runCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("run", "sctpguard run [-c FILE]",
		"Runs the relay. SIGTERM or SIGINT drains and stops (a second one aborts at once).\n\nExamples:\n  sctpguard run -c /etc/sctpguard/sctpguard.hcl\n  sctpguard run -c ./dev.hcl", stderr)
	path := fs.String("c", config.DefaultPath, "configuration `file`")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	cfg, code := loadConfig(*path, stderr)
	if cfg == nil {
		return code
	}
	log := newLogger(cfg.Log, stderr)
	if err := serve(cfg, *path, log); err != nil {
		log.Error("stopped", "error", err)
		return exitFailure
	}
	log.Info("stopped")
	return exitOK
}

// serve opens every socket, then runs the relays and the admin API until a signal.
func serve(cfg *config.Config, path string, log hclog.Logger) error {
	logAudit(log, audit(cfg))
	if err := sctpsock.Supported(); err != nil {
		return err
	}
	srv := proxy.NewServer(cfg, log)
	srv.Version = versionString()
	if err := srv.Listen(); err != nil {
		return err
	}
	adm, err := admin.Listen(cfg.Admin.Socket, cfg.Admin.Mode, cfg.Admin.Group)
	if err != nil {
		srv.Close()
		return err
	}
	adm.Log = log.Named("admin")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Serve(gctx) })
	g.Go(func() error { return adm.Serve(gctx, srv, nil) })
	log.Info("started", "version", versionString(), "config", path, "admin", cfg.Admin.Socket)
	sdnotify.Ready()
	<-gctx.Done()
	sdnotify.Stopping()
	stop() // a second signal now ends the process at once
	return g.Wait()
}

func newLogger(c config.Log, w io.Writer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       "sctpguard",
		Level:      hclog.LevelFromString(c.Level),
		JSONFormat: c.Format == "json",
		Output:     w,
	})
}
