package config_test

import (
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/config"
)

var update = flag.Bool("update", false, "rewrite testdata/invalid/*.err from the current output")

// TestInvalid loads each broken file and compares what a user would see,
// one line per problem, with the golden .err file beside it.
func TestInvalid(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*.hcl")
	if len(files) == 0 {
		t.Fatal("no testdata/invalid/*.hcl")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			cfg, err := config.Load(file)
			var cerr *config.Error
			if !errors.As(err, &cerr) || cfg != nil {
				t.Fatalf("Load = %v, %v; want nil and *config.Error", cfg, err)
			}
			var got strings.Builder
			if _, err := cerr.WriteTo(&got); err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(file, ".hcl") + ".err"
			if *update {
				if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != string(want) {
				t.Errorf("diagnostics differ from %s:\ngot:\n%s\nwant:\n%s", golden, got.String(), want)
			}
			if got.String() != cerr.Error()+"\n" {
				t.Errorf("WriteTo and Error differ")
			}
		})
	}
}

// TestValid loads every valid file, including the shipped example.
func TestValid(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid/*.hcl")
	files = append(files, "../examples/sctpguard.hcl", "../examples/transparent.hcl")
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			if _, err := config.Load(file); err != nil {
				t.Fatalf("Load(%s):\n%v", file, err)
			}
		})
	}
}

func TestMinimalDefaults(t *testing.T) {
	got, err := config.Load("testdata/valid/minimal.hcl")
	if err != nil {
		t.Fatal(err)
	}
	want := config.Default()
	r := config.DefaultRelay("diameter")
	r.Listen = addrs("127.0.0.1:3868")
	r.Upstream = addrs("192.0.2.10:3868", "198.51.100.10:3868")
	want.Relays = []config.Relay{r}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if r.Streams != 16 || r.MaxMessage != 256<<10 || r.ConnectTimeout != 5*time.Second || !r.NoDelay ||
		r.Quota.Association != 1<<20 || r.Quota.Socket != 0 || r.ListenStyle != "one_to_one" {
		t.Errorf("relay defaults %+v", r)
	}
	if want.Quota.Global != 256<<20 || want.Cost != (config.Cost{Header: 576, Overhead: 1024}) || want.Admin != (config.Admin{Socket: "/run/sctpguard/admin.sock", Mode: 0o600}) ||
		want.Metrics.Listen != "" || want.Log != (config.Log{Level: "info", Format: "text"}) || want.Shutdown.DrainTimeout != 10*time.Second {
		t.Errorf("defaults %+v", want)
	}
}

func TestFull(t *testing.T) {
	got, err := config.Load("testdata/valid/full.hcl")
	if err != nil {
		t.Fatal(err)
	}
	want := &config.Config{
		Relays: []config.Relay{{
			Name:           "s6a",
			Listen:         addrs("10.0.0.1:3868", "[2001:db8::1]:3868"),
			Upstream:       addrs("192.0.2.10:3869"),
			Streams:        64,
			MaxMessage:     65536,
			ConnectTimeout: 1500 * time.Millisecond,
			MaxConnecting:  32,
			StallTimeout:   30 * time.Second,
			NoDelay:        false,
			ListenStyle:    config.StyleOneToMany,
			Quota:          config.RelayQuota{Association: 512 << 10, Socket: 32 << 20},
			Path: config.RelayPath{HeartbeatInterval: 500 * time.Millisecond, MaxRetransmissions: 2,
				RTOInitial: 300 * time.Millisecond, RTOMin: 100 * time.Millisecond, RTOMax: time.Second,
				Primary: netip.MustParseAddrPort("192.0.2.10:3869")},
		}, {
			Name:           "m3ua-1",
			Listen:         addrs("0.0.0.0:2905"),
			Upstream:       addrs("[2001:db8::20]:2905"),
			Streams:        16,
			MaxMessage:     256 << 10,
			ConnectTimeout: 5 * time.Second,
			MaxConnecting:  256,
			NoDelay:        true,
			ListenStyle:    config.StyleOneToOne,
			Quota:          config.RelayQuota{Association: 1 << 20},
		}, {
			Name:           "sidecar",
			Listen:         addrs("10.0.0.1:13868"),
			Transparent:    true,
			Mark:           0x5c7,
			Streams:        16,
			MaxMessage:     256 << 10,
			ConnectTimeout: 5 * time.Second,
			MaxConnecting:  256,
			NoDelay:        true,
			ListenStyle:    config.StyleOneToOne,
			Quota:          config.RelayQuota{Association: 1 << 20},
		}},
		Quota:    config.Quota{Global: 1 << 30},
		Cost:     config.Cost{Header: 544, Overhead: 1792},
		Admin:    config.Admin{Socket: "/run/sctpguard.sock", Mode: 0o660, Group: "sctpguard"},
		Metrics:  config.Metrics{Listen: ":9368"},
		Log:      config.Log{Level: "debug", Format: "json"},
		Shutdown: config.Shutdown{DrainTimeout: time.Minute},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := config.Load(filepath.Join(t.TempDir(), "absent.hcl"))
	var cerr *config.Error
	if !errors.Is(err, os.ErrNotExist) || errors.As(err, &cerr) {
		t.Errorf("Load = %v; want a wrapped os.ErrNotExist", err)
	}
}

func TestDiagnosticString(t *testing.T) {
	for _, tc := range []struct {
		d    config.Diagnostic
		want string
	}{
		{config.Diagnostic{File: "a.hcl", Line: 3, Column: 5, Field: "quota.global", Message: "bad"}, "a.hcl:3:5: quota.global: bad"},
		{config.Diagnostic{File: "a.hcl", Line: 1, Column: 1, Message: "bad"}, "a.hcl:1:1: bad"},
		{config.Diagnostic{File: "a.hcl", Message: "bad"}, "a.hcl: bad"},
	} {
		if got := tc.d.String(); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.d, got, tc.want)
		}
	}
}

func addrs(ss ...string) []netip.AddrPort {
	var out []netip.AddrPort
	for _, s := range ss {
		out = append(out, netip.MustParseAddrPort(s))
	}
	return out
}

func TestHugeNumbers(t *testing.T) {
	for _, n := range []string{"1e999999", "1e-999999", "9223372036854775808", "-0", "1e-999999999", "-1e999999999"} {
		src := "relay \"r\" {\n  listen = [\"127.0.0.1:1\"]\n  upstream = [\"192.0.2.1:1\"]\n  max_message = " + n + "\n}\n"
		start := time.Now()
		_, err := config.Parse([]byte(src), "huge.hcl")
		if err == nil || time.Since(start) > time.Second {
			t.Errorf("max_message = %s: err %v after %v; want a quick error", n, err, time.Since(start))
		}
	}
}

func TestApplyDefaults(t *testing.T) {
	c := &config.Config{Relays: []config.Relay{{Name: "r", NoDelay: true}}, Quota: config.Quota{Global: 1 << 30}}
	c.ApplyDefaults()
	want := config.Default()
	want.Quota.Global = 1 << 30
	want.Relays = []config.Relay{config.DefaultRelay("r")}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
}
