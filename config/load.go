package config

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// The file as HCL decodes it. Attributes stay expressions so that sizes
// may be numbers or strings and every problem keeps its position.
// Singleton blocks are slices so that a duplicate can be reported with
// both positions.
type fileHCL struct {
	Relays   []relayHCL    `hcl:"relay,block"`
	Quota    []quotaHCL    `hcl:"quota,block"`
	Cost     []costHCL     `hcl:"cost,block"`
	Admin    []adminHCL    `hcl:"admin,block"`
	Metrics  []metricsHCL  `hcl:"metrics,block"`
	Log      []logHCL      `hcl:"log,block"`
	Shutdown []shutdownHCL `hcl:"shutdown,block"`
}

type relayHCL struct {
	Name           string          `hcl:"name,label"`
	NameRange      hcl.Range       `hcl:"name,label_range"`
	DefRange       hcl.Range       `hcl:",def_range"`
	Listen         hcl.Expression  `hcl:"listen,optional"`
	Upstream       hcl.Expression  `hcl:"upstream,optional"`
	Transparent    hcl.Expression  `hcl:"transparent,optional"`
	Mark           hcl.Expression  `hcl:"mark,optional"`
	UpstreamUDP    hcl.Expression  `hcl:"upstream_udp_port,optional"`
	FrontUDP       hcl.Expression  `hcl:"front_udp,optional"`
	Streams        hcl.Expression  `hcl:"streams,optional"`
	MaxMessage     hcl.Expression  `hcl:"max_message,optional"`
	ConnectTimeout hcl.Expression  `hcl:"connect_timeout,optional"`
	MaxConnecting  hcl.Expression  `hcl:"max_connecting,optional"`
	StallTimeout   hcl.Expression  `hcl:"stall_timeout,optional"`
	NoDelay        hcl.Expression  `hcl:"nodelay,optional"`
	ListenStyle    hcl.Expression  `hcl:"listen_style,optional"`
	Quota          []relayQuotaHCL `hcl:"quota,block"`
	Path           []relayPathHCL  `hcl:"path,block"`
}

type relayPathHCL struct {
	DefRange           hcl.Range      `hcl:",def_range"`
	HeartbeatInterval  hcl.Expression `hcl:"heartbeat_interval,optional"`
	MaxRetransmissions hcl.Expression `hcl:"max_retransmissions,optional"`
	RTOInitial         hcl.Expression `hcl:"rto_initial,optional"`
	RTOMin             hcl.Expression `hcl:"rto_min,optional"`
	RTOMax             hcl.Expression `hcl:"rto_max,optional"`
	Primary            hcl.Expression `hcl:"primary,optional"`
}

type relayQuotaHCL struct {
	DefRange    hcl.Range      `hcl:",def_range"`
	Association hcl.Expression `hcl:"association,optional"`
	Socket      hcl.Expression `hcl:"socket,optional"`
}

type quotaHCL struct {
	DefRange hcl.Range      `hcl:",def_range"`
	Global   hcl.Expression `hcl:"global,optional"`
}

type costHCL struct {
	DefRange hcl.Range      `hcl:",def_range"`
	Header   hcl.Expression `hcl:"header,optional"`
	Overhead hcl.Expression `hcl:"overhead,optional"`
}

type adminHCL struct {
	DefRange  hcl.Range      `hcl:",def_range"`
	Socket    hcl.Expression `hcl:"socket,optional"`
	Mode      hcl.Expression `hcl:"mode,optional"`
	Group     hcl.Expression `hcl:"group,optional"`
	ReadGroup hcl.Expression `hcl:"read_group,optional"`
}

type metricsHCL struct {
	DefRange hcl.Range      `hcl:",def_range"`
	Listen   hcl.Expression `hcl:"listen,optional"`
}

type logHCL struct {
	DefRange hcl.Range      `hcl:",def_range"`
	Level    hcl.Expression `hcl:"level,optional"`
	Format   hcl.Expression `hcl:"format,optional"`
}

type shutdownHCL struct {
	DefRange     hcl.Range      `hcl:",def_range"`
	DrainTimeout hcl.Expression `hcl:"drain_timeout,optional"`
}

// Load reads, decodes and validates the file at path. The error is an
// *Error listing every problem when the file was read but is invalid.
// Options add checks, such as WithHost.
func Load(path string, opts ...Option) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	return Parse(src, path, opts...)
}

// Parse decodes and validates src, naming it filename in diagnostics. It
// returns a Config with every default applied, or nil and an *Error
// listing every problem.
func Parse(src []byte, filename string, opts ...Option) (*Config, error) {
	f, hd := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if hd.HasErrors() {
		return nil, newError(fromHCL(hd, filename))
	}
	d := newDecoder(filename)
	for _, o := range opts {
		o(d)
	}
	var raw fileHCL
	d.hcl(gohcl.DecodeBody(f.Body, nil, &raw))
	cfg := d.config(&raw, f.Body.MissingItemRange())
	if len(d.diags) > 0 {
		return nil, newError(d.diags)
	}
	return cfg, nil
}

func newError(ds []Diagnostic) *Error {
	sortDiags(ds)
	return &Error{Diags: ds}
}

// config builds the Config from the decoded file: each block's values
// with their defaults, then the rules that span blocks.
func (d *decoder) config(raw *fileHCL, top hcl.Range) *Config {
	c := Default()
	if q := single(d, raw.Quota, "quota"); q != nil {
		c.Quota.Global = d.size(q.Global, "quota.global", 1, noLimit, DefaultGlobalQuota)
	}
	if k := single(d, raw.Cost, "cost"); k != nil {
		c.Cost.Header = d.size(k.Header, "cost.header", 1, MaxHeader, DefaultHeader)
		c.Cost.Overhead = d.size(k.Overhead, "cost.overhead", 1, MaxOverhead, DefaultOverhead)
	}
	if a := single(d, raw.Admin, "admin"); a != nil {
		c.Admin = d.admin(a)
	}
	if m := single(d, raw.Metrics, "metrics"); m != nil {
		c.Metrics.Listen = d.hostPort(m.Listen, "metrics.listen")
	}
	if l := single(d, raw.Log, "log"); l != nil {
		c.Log.Level = d.enum(l.Level, "log.level", DefaultLogLevel, "trace", "debug", "info", "warn", "error")
		c.Log.Format = d.enum(l.Format, "log.format", DefaultLogFormat, "text", "json")
	}
	if s := single(d, raw.Shutdown, "shutdown"); s != nil {
		c.Shutdown.DrainTimeout = d.duration(s.DrainTimeout, "shutdown.drain_timeout", DefaultDrainTimeout)
	}
	for i := range raw.Relays {
		c.Relays = append(c.Relays, d.relay(&raw.Relays[i]))
	}
	d.validate(c, raw.Relays, top)
	return c
}

func (d *decoder) admin(a *adminHCL) Admin {
	out := Admin{
		Socket:    d.socketPath(a.Socket, "admin.socket"),
		Mode:      d.mode(a.Mode, "admin.mode"),
		Group:     d.group(a.Group, "admin.group"),
		ReadGroup: d.group(a.ReadGroup, "admin.read_group"),
	}
	if out.ReadGroup == "" {
		return out
	}
	rng := a.ReadGroup.Range()
	switch {
	case out.ReadGroup == out.Group:
		d.reject(rng, "admin.read_group", "%q is also admin.group, whose members may already read; remove read_group, or name a group that may only read", out.ReadGroup)
	case out.Mode&0o060 != 0o060:
		d.reject(rng, "admin.read_group", "admin.mode %#o does not let group %q connect to the socket; set admin.mode = \"0660\"", out.Mode, out.ReadGroup)
	}
	return out
}

// group decodes a group name or numeric id, as groupadd allows them.
func (d *decoder) group(expr hcl.Expression, field string) string {
	s := d.str(expr, field, "")
	if s == "" || validGroup(s) {
		return s
	}
	d.reject(expr.Range(), field, "%q is not a group name or id; want letters, digits, '_', '-' or '.', not starting with '-', at most 32 characters", s)
	return ""
}

func validGroup(s string) bool {
	if len(s) > 32 || s[0] == '-' {
		return false
	}
	for _, c := range s {
		ok := c == '_' || c == '-' || c == '.' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		if !ok {
			return false
		}
	}
	return true
}

func (d *decoder) relay(r *relayHCL) Relay {
	p := relayField(r.Name)
	out := DefaultRelay(r.Name)
	out.Listen = d.addrs(r.Listen, p+".listen", local)
	out.Transparent = d.boolean(r.Transparent, p+".transparent", false)
	if out.Transparent {
		d.noUpstream(r.Upstream, p+".upstream")
	} else {
		out.Upstream = d.addrs(r.Upstream, p+".upstream", peer)
	}
	out.Mark = d.mark(r.Mark, p+".mark")
	out.UpstreamUDPPort = uint16(d.count(r.UpstreamUDP, p+".upstream_udp_port", 1, 65535, 0))
	out.FrontUDP = d.boolean(r.FrontUDP, p+".front_udp", false)
	out.Streams = uint16(d.count(r.Streams, p+".streams", 1, 65535, DefaultStreams))
	out.MaxMessage = d.size(r.MaxMessage, p+".max_message", 1, MaxMaxMessage, DefaultMaxMessage)
	out.ConnectTimeout = d.duration(r.ConnectTimeout, p+".connect_timeout", DefaultConnectTimeout)
	out.MaxConnecting = int(d.count(r.MaxConnecting, p+".max_connecting", 1, MaxMaxConnecting, DefaultMaxConnecting))
	out.StallTimeout = d.within(r.StallTimeout, p+".stall_timeout", MinStallTimeout, MaxStallTimeout)
	out.NoDelay = d.boolean(r.NoDelay, p+".nodelay", true)
	out.ListenStyle = d.enum(r.ListenStyle, p+".listen_style", DefaultListenStyle, StyleOneToOne, StyleOneToMany)
	if q := single(d, r.Quota, p+".quota"); q != nil {
		out.Quota.Association = d.size(q.Association, p+".quota.association", 1, noLimit, DefaultAssociationQuota)
		out.Quota.Socket = d.size(q.Socket, p+".quota.socket", 0, noLimit, 0)
	}
	if pb := single(d, r.Path, p+".path"); pb != nil {
		out.Path = d.path(pb, p+".path")
		if out.Transparent {
			d.noPrimary(pb.Primary, p+".path.primary")
		} else {
			out.Path.Primary = d.primary(pb.Primary, p+".path.primary", out.Upstream)
		}
	}
	return out
}

func (d *decoder) path(b *relayPathHCL, p string) RelayPath {
	return RelayPath{
		HeartbeatInterval:  d.millis(b.HeartbeatInterval, p+".heartbeat_interval", MaxPathDuration),
		MaxRetransmissions: int(d.count(b.MaxRetransmissions, p+".max_retransmissions", 1, 65535, 0)),
		RTOInitial:         d.millis(b.RTOInitial, p+".rto_initial", MaxPathDuration),
		RTOMin:             d.millis(b.RTOMin, p+".rto_min", MaxPathDuration),
		RTOMax:             d.millis(b.RTOMax, p+".rto_max", MaxPathDuration),
	}
}

// primary decodes the upstream address chosen as primary path: one of upstream.
func (d *decoder) primary(expr hcl.Expression, field string, upstream []netip.AddrPort) netip.AddrPort {
	s := d.str(expr, field, "")
	if s == "" {
		return netip.AddrPort{}
	}
	ap, err := netip.ParseAddrPort(s)
	if err == nil && slices.Contains(upstream, ap) {
		return ap
	}
	names := make([]string, len(upstream))
	for i, u := range upstream {
		names[i] = strconv.Quote(u.String())
	}
	d.reject(expr.Range(), field, "%q is not one of the relay's upstream addresses; use one of %s", s, strings.Join(names, ", "))
	return netip.AddrPort{}
}

// single returns the first of blocks, or nil, reporting every further
// one: these blocks may appear at most once.
func single[T interface{ def() hcl.Range }](d *decoder, blocks []T, field string) *T {
	if len(blocks) == 0 {
		return nil
	}
	first := blocks[0].def()
	for _, b := range blocks[1:] {
		d.errorf(b.def(), field, "duplicate block; only one %s block is allowed, the first is at %s",
			lastWord(field), posString(first))
	}
	return &blocks[0]
}

func (b quotaHCL) def() hcl.Range      { return b.DefRange }
func (b costHCL) def() hcl.Range       { return b.DefRange }
func (b adminHCL) def() hcl.Range      { return b.DefRange }
func (b metricsHCL) def() hcl.Range    { return b.DefRange }
func (b logHCL) def() hcl.Range        { return b.DefRange }
func (b shutdownHCL) def() hcl.Range   { return b.DefRange }
func (b relayQuotaHCL) def() hcl.Range { return b.DefRange }
func (b relayPathHCL) def() hcl.Range  { return b.DefRange }
