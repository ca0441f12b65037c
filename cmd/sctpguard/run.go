package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sync/errgroup"

	"github.com/sctpguard/sctpguard/admin"
	"github.com/sctpguard/sctpguard/config"
	"github.com/sctpguard/sctpguard/metrics"
	"github.com/sctpguard/sctpguard/proxy"
	"github.com/sctpguard/sctpguard/sctpsock"
	"github.com/sctpguard/sctpguard/sdnotify"
)

func runCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("run", "sctpguard run [-c FILE]",
		`Runs the relay.

Signals:
  SIGHUP           re-read FILE; if it is valid, put it in force without
                   dropping an association (new quotas apply within a second),
                   else log every problem and keep the running configuration
  SIGTERM, SIGINT  stop accepting, deliver what is queued, SHUTDOWN every
                   association, exit within shutdown.drain_timeout; a second
                   one aborts every association at once

Examples:
  sctpguard run -c /etc/sctpguard/sctpguard.hcl
  sctpguard run -c ./dev.hcl
  kill -HUP $(pidof sctpguard)     # or: systemctl reload sctpguard`, stderr)
	path := fs.String("c", config.DefaultPath, "configuration `file`")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	cfg, code := loadConfig(*path, stderr)
	if cfg == nil {
		return code
	}
	withoutHugePages()
	log := newLogger(cfg.Log, stderr)
	if err := serve(cfg, *path, log); err != nil {
		log.Error("stopped", "error", err)
		return exitFailure
	}
	log.Info("stopped")
	return exitOK
}

// daemon is what serve opened: the relays, the admin API and the metrics endpoint.
type daemon struct {
	srv *proxy.Server
	adm *admin.Server
	met *metrics.Server // nil when metrics.listen is unset
}

// open opens every socket of cfg, or none.
func open(cfg *config.Config, log hclog.Logger) (*daemon, error) {
	if err := sctpsock.Supported(); err != nil {
		return nil, err
	}
	d := &daemon{srv: proxy.NewServer(cfg, log)}
	d.srv.Version = versionString()
	if err := d.srv.Listen(); err != nil {
		return nil, err
	}
	adm, err := admin.Listen(cfg.Admin.Socket, cfg.Admin.Mode, cfg.Admin.Group, cfg.Admin.ReadGroup)
	if err != nil {
		d.srv.Close()
		return nil, err
	}
	adm.Log = log.Named("admin")
	d.adm = adm
	if cfg.Metrics.Listen != "" {
		if d.met, err = metrics.Listen(cfg.Metrics.Listen); err != nil {
			d.srv.Close()
			adm.Close()
			return nil, err
		}
		d.met.Log = log.Named("metrics")
	}
	return d, nil
}

// serve opens every socket, then runs until SIGTERM or SIGINT; SIGHUP reloads.
func serve(cfg *config.Config, path string, log hclog.Logger) error {
	logAudit(log, audit(cfg))
	d, err := open(cfg, log)
	if err != nil {
		return err
	}
	rl := &reloader{path: path, cur: cfg, srv: d.srv, log: log}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return d.srv.Serve(gctx) })
	g.Go(func() error { return d.adm.Serve(gctx, d.srv, rl) })
	if d.met != nil {
		g.Go(func() error { return d.met.Serve(gctx, d.srv) })
	}
	done := make(chan struct{})
	var signals sync.WaitGroup
	signals.Add(1)
	go func() { // signal handler: until every server has returned
		defer signals.Done()
		handleSignals(done, sigs, stop, d.srv, rl, log)
	}()
	fields := []any{"version", versionString(), "config", path, "admin", cfg.Admin.Socket}
	if d.met != nil {
		fields = append(fields, "metrics", "http://"+d.met.Addr().String()+"/metrics")
	}
	log.Info("started", fields...)
	sdnotify.Ready()
	err = g.Wait()
	close(done)
	signals.Wait()
	return err
}

// handleSignals reloads on SIGHUP; the first SIGTERM or SIGINT starts the drain
// (stop), a second aborts every association. It returns when done is closed.
func handleSignals(done <-chan struct{}, sigs <-chan os.Signal, stop func(), srv *proxy.Server, rl *reloader, log hclog.Logger) {
	stopping := false
	for {
		var sig os.Signal
		select {
		case <-done:
			return
		case sig = <-sigs:
		}
		switch {
		case sig == syscall.SIGHUP && !stopping:
			rl.reloadLogged("SIGHUP")
		case sig == syscall.SIGHUP:
			log.Warn("SIGHUP ignored: stopping")
		case !stopping:
			stopping = true
			log.Info("stopping: draining associations; send the signal again to abort them", "signal", sig.String())
			sdnotify.Stopping()
			stop()
		default:
			log.Warn("second stop signal: aborting every association", "signal", sig.String())
			srv.Abort()
		}
	}
}

func newLogger(c config.Log, w io.Writer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       "sctpguard",
		Level:      hclog.LevelFromString(c.Level),
		JSONFormat: c.Format == "json",
		Output:     w,
	})
}
