package config

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// relayName is what a relay may be called: it labels metrics and log
// lines and is typed in admin commands.
var relayName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// relayField is the prefix of a relay's fields in diagnostics.
func relayField(name string) string {
	if relayName.MatchString(name) {
		return "relay." + name
	}
	return "relay." + strconv.Quote(name)
}

// validate applies the rules that span fields and blocks. Fields already
// rejected are skipped, so one mistake is reported once.
func (d *decoder) validate(c *Config, raw []relayHCL, top hcl.Range) {
	if len(c.Relays) == 0 {
		d.errorf(top, "relay", "at least one relay block is required, such as relay \"diameter\" { listen = [...] upstream = [...] }")
	}
	d.skip = d.checkNames(raw) // fields of same-named relays cannot be told apart
	for i := range c.Relays {
		if d.skip[c.Relays[i].Name] {
			continue
		}
		d.checkQuotas(c, &c.Relays[i], raw[i].DefRange)
		d.checkListeners(c.Relays[:i], &c.Relays[i])
		d.checkRTO(&c.Relays[i], raw[i].DefRange)
	}
}

// checkNames reports empty, malformed and duplicate relay names, and
// returns the names given to more than one relay.
func (d *decoder) checkNames(raw []relayHCL) map[string]bool {
	first := map[string]hcl.Range{}
	dup := map[string]bool{}
	for _, r := range raw {
		switch at, seen := first[r.Name]; {
		case r.Name == "":
			d.errorf(r.NameRange, "relay", "the name must not be empty")
		case seen:
			dup[r.Name] = true
			d.errorf(r.NameRange, "relay", "%q is already the name of the relay at %s; names must be unique", r.Name, posString(at))
			continue
		case !relayName.MatchString(r.Name):
			d.errorf(r.NameRange, "relay", "%q is not a valid name; use 1 to 63 letters, digits, '-', '_' or '.', starting with a letter or digit", r.Name)
		}
		first[r.Name] = r.NameRange
	}
	return dup
}

// checkListeners reports listen addresses of relay b that an earlier
// relay binds already, each once.
func (d *decoder) checkListeners(earlier []Relay, b *Relay) {
	pb := relayField(b.Name) + ".listen"
	if d.bad[pb] {
		return
	}
	for i, x := range b.Listen {
		ef := pb + "[" + strconv.Itoa(i) + "]"
		if a, j := d.boundBy(earlier, x); a != nil {
			at := d.at[relayField(a.Name)+".listen["+strconv.Itoa(j)+"]"]
			what := "overlaps " + a.Listen[j].String() + " of"
			if x == a.Listen[j] {
				what = "is also an address of"
			}
			d.errorf(d.at[ef], ef, "%s %s relay %q at %s; two relays cannot listen on the same address and port",
				x, what, a.Name, posString(at))
		}
	}
}

// boundBy returns the relay, and the index in its listen, of the first
// usable relay that binds x.
func (d *decoder) boundBy(relays []Relay, x netip.AddrPort) (*Relay, int) {
	if x.Port() == 0 {
		return nil, 0
	}
	for i := range relays {
		a := &relays[i]
		if d.skip[a.Name] || d.bad[relayField(a.Name)+".listen"] {
			continue
		}
		for j, y := range a.Listen {
			if overlaps(x, y) {
				return a, j
			}
		}
	}
	return nil, 0
}

// checkQuotas reports budgets that cannot hold what they must: one
// largest message per association, an association per socket, and any
// of them within the global quota.
func (d *decoder) checkQuotas(c *Config, r *Relay, def hcl.Range) {
	p := relayField(r.Name)
	assoc, sock, maxMsg := p+".quota.association", p+".quota.socket", p+".max_message"
	q := r.Quota
	if cost := c.Cost.Model().Worst(int(r.MaxMessage)); q.Association < cost {
		d.conflict(def, []string{assoc, maxMsg, "cost"},
			"quota.association %s is less than the true cost of one message of max_message %s (%s by the cost block: header %s, overhead %s), so such a message could never be relayed; raise quota.association or lower max_message",
			FormatSize(q.Association), FormatSize(r.MaxMessage), FormatSize(cost), FormatSize(c.Cost.Header), FormatSize(c.Cost.Overhead))
	}
	if r.ListenStyle == StyleOneToMany && q.Socket == 0 && !d.bad[p+".listen_style"] {
		d.conflict(def, []string{p + ".listen_style", sock},
			"listen_style \"one_to_many\" needs quota.socket: every front association shares one socket, whose kernel buffers and held messages it bounds; set quota.socket to at least quota.association %s",
			FormatSize(q.Association))
	}
	if q.Socket != 0 && q.Socket < q.Association {
		d.conflict(def, []string{sock, assoc},
			"quota.socket %s is less than quota.association %s; a socket must hold at least one association",
			FormatSize(q.Socket), FormatSize(q.Association))
	}
	what, largest := "association", q.Association
	if q.Socket > largest {
		what, largest = "socket", q.Socket
	}
	if c.Quota.Global < largest {
		d.conflict(def, []string{"quota.global", p + ".quota." + what},
			"quota.global %s is less than quota.%s %s of relay %q; the global quota must hold it",
			FormatSize(c.Quota.Global), what, FormatSize(largest), r.Name)
	}
}

// conflict reports a rule broken by fields together, at the first of them
// set in the file (or at fallback when all are defaults), unless one of
// them was rejected already.
func (d *decoder) conflict(fallback hcl.Range, fields []string, format string, args ...any) {
	for _, f := range fields {
		if d.bad[f] {
			return
		}
	}
	for _, f := range fields {
		if rng, ok := d.at[f]; ok {
			d.errorf(rng, f, format, args...)
			return
		}
	}
	d.errorf(fallback, fields[0], format, args...)
}

// checkRTO reports RTO bounds the kernel would refuse or that contradict each
// other: min <= initial <= max, where an unset one counts at Linux's default.
func (d *decoder) checkRTO(r *Relay, def hcl.Range) {
	p := relayField(r.Name) + ".path."
	lo := newRTOBound(p, "rto_min", r.Path.RTOMin, LinuxRTOMin)
	init := newRTOBound(p, "rto_initial", r.Path.RTOInitial, LinuxRTOInitial)
	hi := newRTOBound(p, "rto_max", r.Path.RTOMax, LinuxRTOMax)
	if d.bad[lo.field] || d.bad[init.field] || d.bad[hi.field] {
		return // a rejected value reads as unset; comparing it would mislead
	}
	switch {
	case lo.v > hi.v && (lo.set || hi.set):
		d.conflict(def, setFields(lo, hi), "%s is more than %s; the kernel refuses a minimum RTO above the maximum%s",
			lo, hi, unsetHint(lo, hi))
	case init.v < lo.v && (init.set || lo.set):
		d.conflict(def, setFields(init, lo), "%s is less than %s; the first timeout must lie within the bounds%s",
			init, lo, unsetHint(init, lo))
	case init.v > hi.v && (init.set || hi.set):
		d.conflict(def, setFields(init, hi), "%s is more than %s; the first timeout must lie within the bounds%s",
			init, hi, unsetHint(init, hi))
	}
}

// rtoBound is one of the RTO settings of a relay's path block: its value, or
// Linux's default when unset.
type rtoBound struct {
	field, name string
	v           time.Duration
	set         bool
}

func newRTOBound(prefix, name string, v, linux time.Duration) rtoBound {
	if v == 0 {
		return rtoBound{prefix + name, name, linux, false}
	}
	return rtoBound{prefix + name, name, v, true}
}

func (b rtoBound) String() string {
	if b.set {
		return "path." + b.name + " " + shortDuration(b.v)
	}
	return "Linux's default " + b.name + " " + shortDuration(b.v)
}

func setFields(bs ...rtoBound) []string {
	var out []string
	for _, b := range bs {
		if b.set {
			out = append(out, b.field)
		}
	}
	return out
}

// unsetHint suggests setting the bounds left at their defaults.
func unsetHint(bs ...rtoBound) string {
	var unset []string
	for _, b := range bs {
		if !b.set {
			unset = append(unset, "path."+b.name)
		}
	}
	if len(unset) == 0 {
		return ""
	}
	return "; set " + strings.Join(unset, " and ") + " too"
}

// shortDuration formats d without zero trailing units: 24h, 1m30s, 500ms.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
