package config_test

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sctpguard/sctpguard/config"
	"github.com/sctpguard/sctpguard/quota"
)

// FuzzParse checks that decoding and validation never panic, and that
// Parse returns either a Config that keeps the documented invariants or
// an *Error with at least one positioned problem.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.hcl")
	files = append(files, "../examples/sctpguard.hcl")
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	for _, a := range oddAttributes {
		for _, v := range oddValues {
			f.Add([]byte(oddSource(a.block, a.attr, v)))
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, err := config.Parse(src, "fuzz.hcl")
		if err != nil {
			checkError(t, cfg, err)
			return
		}
		checkConfig(t, cfg)
	})
}

func checkError(t *testing.T, cfg *config.Config, err error) {
	var cerr *config.Error
	if cfg != nil || !errors.As(err, &cerr) || len(cerr.Diags) == 0 {
		t.Fatalf("Parse = %v, %v; want nil and a non-empty *config.Error", cfg, err)
	}
	for _, d := range cerr.Diags {
		if d.File != "fuzz.hcl" || d.Message == "" {
			t.Errorf("diagnostic without file or message: %+v", d)
		}
	}
}

func checkConfig(t *testing.T, c *config.Config) {
	if len(c.Relays) == 0 {
		t.Fatal("valid config without relays")
	}
	for _, r := range c.Relays {
		if len(r.Listen) == 0 || len(r.Upstream) == 0 != r.Transparent || r.Streams == 0 || r.MaxMessage <= 0 || r.ConnectTimeout <= 0 {
			t.Errorf("relay %q: %+v", r.Name, r)
		}
		q := r.Quota
		worst := c.Cost.Model().Worst(int(r.MaxMessage))
		if q.Association < worst || q.Socket != 0 && q.Socket < q.Association ||
			c.Quota.Global < q.Association || c.Quota.Global < q.Socket {
			t.Errorf("relay %q: quotas break their rules: %+v, %+v, %+v", r.Name, q, c.Quota, c.Cost)
		}
		for _, n := range []int64{q.Socket, c.Quota.Global} {
			if n != 0 && !lendsOne(n, q.Association, worst) {
				t.Errorf("relay %q: a quota of %d cannot relay one message for one association: %+v, %+v, %+v", r.Name, n, q, c.Quota, c.Cost)
			}
		}
		if r.Transparent && (len(r.Listen) != 1 || r.Listen[0].Addr().IsUnspecified() || r.Listen[0].Addr().Unmap().IsLoopback() ||
			r.ListenStyle != config.StyleOneToOne) || !r.Transparent && r.Mark != 0 {
			t.Errorf("relay %q: transparent rules broken: %+v", r.Name, r)
		}
		for _, u := range r.Upstream {
			if slices.ContainsFunc(r.Listen, func(l netip.AddrPort) bool { return l.Addr().Unmap() == u.Addr().Unmap() && l.Port() == u.Port() }) {
				t.Errorf("relay %q: upstream %s is one of its listen addresses %v", r.Name, u, r.Listen)
			}
		}
	}
	if c.Cost.Overhead <= 0 || c.Cost.Header <= 0 || c.Admin.Mode&^0o770 != 0 || c.Shutdown.DrainTimeout <= 0 {
		t.Errorf("config %+v", c)
	}
}

// lendsOne reports whether a budget of limit n can open one association of
// quota assoc (both directions' reserves) and lend it one message of cost
// beyond its reserve, within n less its headroom.
func lendsOne(n, assoc, cost int64) bool {
	r := min(assoc, quota.DefaultReserve)
	if cost <= r {
		return 2*r <= n
	}
	return r+cost <= n-n/quota.DefaultHeadroomDivisor
}

// oddValues are expressions of every shape, typed nulls included.
var oddValues = []string{
	`null`, `true ? null : "x"`, `true ? null : 1`, `true ? null : true`, `true ? null : ["a"]`,
	`[]`, `{}`, `{ a = 1 }`, `["x", 1, null]`, `[[]]`, `"${1}KiB"`, `1e999999`, `-1`, `0`, `""`,
	`"0"`, `-0.5`, `"1.5B"`, `true ? ["127.0.0.1:1"] : []`,
}

// oddAttributes are every attribute, each in the body of its block.
var oddAttributes = []struct{ block, attr string }{
	{`relay "r"`, "listen"}, {`relay "r"`, "upstream"}, {`relay "r"`, "streams"},
	{`relay "r"`, "max_message"}, {`relay "r"`, "connect_timeout"}, {`relay "r"`, "nodelay"},
	{`relay "r"`, "max_connecting"}, {`relay "r"`, "stall_timeout"},
	{`relay "r"`, "transparent"}, {`relay "r"`, "mark"},
	{`relay "r"`, "upstream_udp_port"}, {`relay "r"`, "front_udp"},
	{"quota", "global"}, {"cost", "overhead"}, {"admin", "socket"}, {"admin", "mode"},
	{"admin", "group"}, {"metrics", "listen"}, {"log", "level"}, {"log", "format"},
	{"shutdown", "drain_timeout"},
}

// TestOddValues puts every shape of value into every attribute: Parse
// must answer each with a Config or an *Error, never a panic.
func TestOddValues(t *testing.T) {
	for _, a := range oddAttributes {
		for _, v := range oddValues {
			src := oddSource(a.block, a.attr, v)
			cfg, err := config.Parse([]byte(src), "fuzz.hcl")
			if err != nil {
				checkError(t, cfg, err)
				continue
			}
			checkConfig(t, cfg)
		}
	}
}

// oddSource is a valid file but for value in attr of block.
func oddSource(block, attr, value string) string {
	relay := map[string]string{"listen": `["127.0.0.1:1"]`, "upstream": `["192.0.2.1:1"]`}
	other := ""
	if block == `relay "r"` {
		relay[attr] = value
	} else {
		other = fmt.Sprintf("%s {\n  %s = %s\n}\n", block, attr, value)
	}
	var b strings.Builder
	b.WriteString("relay \"r\" {\n")
	for _, k := range slices.Sorted(maps.Keys(relay)) {
		fmt.Fprintf(&b, "  %s = %s\n", k, relay[k])
	}
	return b.String() + "}\n" + other
}
