package main

import (
	"errors"
	"fmt"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/sctpguard/sctpguard/config"
	"github.com/sctpguard/sctpguard/proxy"
	"github.com/sctpguard/sctpguard/sdnotify"
)

// reloader re-reads the configuration file for SIGHUP and POST /v1/reload, one
// reload at a time.
type reloader struct {
	path string
	srv  *proxy.Server
	log  hclog.Logger

	mu  sync.Mutex
	cur *config.Config // the configuration in force
}

// Reload loads the file and puts it in force. On any problem it returns an error
// listing every one, and the running configuration stays.
func (r *reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	sdnotify.Reloading()
	defer sdnotify.Ready()
	cfg, err := config.Load(r.path, config.WithHost(config.ReadHost()))
	if err != nil {
		return err
	}
	for _, w := range restartOnly(r.cur, cfg) {
		r.log.Warn("reload: setting changed but applies only after a restart", "setting", w)
	}
	if err := r.srv.Apply(cfg); err != nil {
		return err
	}
	r.log.SetLevel(hclog.LevelFromString(cfg.Log.Level))
	r.cur = cfg
	r.log.Info("configuration reloaded", "config", r.path, "relays", len(cfg.Relays),
		"global_quota", config.FormatSize(cfg.Quota.Global))
	return nil
}

// reloadLogged reloads and logs the outcome, each problem on a line of its own.
func (r *reloader) reloadLogged(trigger string) {
	err := r.Reload()
	if err == nil {
		return
	}
	var cerr *config.Error
	if errors.As(err, &cerr) {
		for _, d := range cerr.Diags {
			r.log.Error("reload refused: invalid configuration", "trigger", trigger, "problem", d.String())
		}
		r.log.Error("reload refused; the running configuration stays", "trigger", trigger, "problems", len(cerr.Diags))
		return
	}
	r.log.Error("reload refused; the running configuration stays", "trigger", trigger, "error", err)
}

// restartOnly names the settings that changed between a and b but are only read
// at start.
func restartOnly(a, b *config.Config) []string {
	var out []string
	check := func(name string, changed bool) {
		if changed {
			out = append(out, name)
		}
	}
	check("admin", a.Admin != b.Admin)
	check("metrics.listen", a.Metrics != b.Metrics)
	check("log.format", a.Log.Format != b.Log.Format)
	check(fmt.Sprintf("cost (live relays keep header %s, overhead %s)", config.FormatSize(a.Cost.Header), config.FormatSize(a.Cost.Overhead)), a.Cost != b.Cost)
	return out
}
