package config

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/sctpguard/sctpguard/quota"
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
		r, def := &c.Relays[i], raw[i].DefRange
		d.checkQuotas(c, r, def)
		d.checkListeners(c.Relays[:i], r)
		d.checkLoop(r)
		d.checkTransparent(r, def)
		d.checkUDP(r)
		d.checkSendBuffer(r, def)
		d.checkRTO(r, def)
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
// of them within the global quota; and, where those hold, a socket or
// global quota that cannot lend one association its largest message.
func (d *decoder) checkQuotas(c *Config, r *Relay, def hcl.Range) {
	cost, frag := c.Cost.Model().WorstSplit(int(r.MaxMessage))
	fits := d.checkMessageCost(c, r, def, cost, frag)
	d.checkOneToMany(r, def)
	sockOK := d.checkSocketQuota(r, def)
	globalOK := d.checkGlobalQuota(c, r, def)
	if !fits {
		return // the association cannot hold the message: that is the problem
	}
	p := relayField(r.Name)
	l := lending{Reserve: min(r.Quota.Association, quota.DefaultReserve), Cost: cost}
	if sockOK && r.Quota.Socket != 0 {
		d.checkLending(def, l, r, "quota.socket", r.Quota.Socket, p+".quota.socket")
	}
	if globalOK {
		d.checkLending(def, l, r, "quota.global", c.Quota.Global, "quota.global")
	}
}

// checkMessageCost reports a quota.association below cost, the worst-case true
// cost of one max_message: split at frag, whichever fragmentation point costs
// most (quota.CostModel.WorstSplit). It reports whether the association can
// hold it.
func (d *decoder) checkMessageCost(c *Config, r *Relay, def hcl.Range, cost int64, frag int) bool {
	p := relayField(r.Name)
	if r.Quota.Association >= cost {
		return true
	}
	d.conflict(def, []string{p + ".quota.association", p + ".max_message", "cost"},
		"quota.association %s is less than %s, the worst-case true cost of one message of max_message %s by the cost block (header %s, overhead %s): %s; such a message could never be relayed; raise quota.association to at least %s or lower max_message",
		FormatSize(r.Quota.Association), FormatSize(cost), FormatSize(r.MaxMessage),
		FormatSize(c.Cost.Header), FormatSize(c.Cost.Overhead), splitText(frag), FormatSize(roundKiB(cost)))
	return false
}

// splitText says where a message costs most: kept whole, or split at frag,
// with the path MTUs that give that fragmentation point.
func splitText(frag int) string {
	if frag == 0 {
		return "kept whole in one DATA chunk"
	}
	return fmt.Sprintf("split into DATA chunks of %dB, as a path MTU of %dB over IPv4 or %dB over IPv6 splits it", frag, frag+20+12+16, frag+40+12+16)
}

func (d *decoder) checkOneToMany(r *Relay, def hcl.Range) {
	p := relayField(r.Name)
	if r.ListenStyle == StyleOneToMany && r.Quota.Socket == 0 && !d.bad[p+".listen_style"] {
		d.conflict(def, []string{p + ".listen_style", p + ".quota.socket"},
			"listen_style \"one_to_many\" needs quota.socket: every front association shares one socket, whose kernel buffers and held messages it bounds; set quota.socket to at least quota.association %s",
			FormatSize(r.Quota.Association))
	}
}

// checkSocketQuota reports a quota.socket below quota.association; false if
// it did.
func (d *decoder) checkSocketQuota(r *Relay, def hcl.Range) bool {
	p := relayField(r.Name)
	q := r.Quota
	if q.Socket == 0 || q.Socket >= q.Association {
		return true
	}
	d.conflict(def, []string{p + ".quota.socket", p + ".quota.association"},
		"quota.socket %s is less than quota.association %s; a socket must hold at least one association",
		FormatSize(q.Socket), FormatSize(q.Association))
	return false
}

// checkGlobalQuota reports a quota.global below the relay's association or
// socket quota; false if it did.
func (d *decoder) checkGlobalQuota(c *Config, r *Relay, def hcl.Range) bool {
	what, largest := "association", r.Quota.Association
	if r.Quota.Socket > largest {
		what, largest = "socket", r.Quota.Socket
	}
	if c.Quota.Global >= largest {
		return true
	}
	d.conflict(def, []string{"quota.global", relayField(r.Name) + ".quota." + what},
		"quota.global %s is less than quota.%s %s of relay %q; the global quota must hold it",
		FormatSize(c.Quota.Global), what, FormatSize(largest), r.Name)
	return false
}

// lending is what one association of a relay takes from a socket or the global
// budget (quota.Budget) to relay one largest message with nothing else open.
// Opening it reserves Reserve in each direction, from every level at once;
// reserves may fill a level to its limit. A message whose true cost is above
// the reserve borrows the rest, and a level lends beyond reserves only up to
// its limit less its headroom, an eighth (quota.DefaultHeadroomDivisor). So a
// level with limit N must have:
//
//	2×Reserve ≤ N                   when Cost ≤ Reserve
//	Reserve + Cost ≤ N − N/8        when Cost > Reserve
//
// the reserve of the idle direction plus the message, whose own reserve
// covers part of it. Otherwise the association is refused when it opens, or
// the message waits for quota forever (or is refused as too large).
type lending struct {
	// Reserve is what each direction reserves: the relay opens its accounts
	// with the default reserve, capped at quota.association.
	Reserve int64
	Cost    int64 // the worst-case true cost of one max_message
}

// borrows reports whether the message borrows beyond its reserve.
func (l lending) borrows() bool { return l.Cost > l.Reserve }

// need is what the level must hold (or lend, if borrows) for the association.
func (l lending) need() int64 { return l.Reserve + max(l.Cost, l.Reserve) }

// available is what a level of limit n offers the association.
func (l lending) available(n int64) int64 {
	if l.borrows() {
		return n - n/quota.DefaultHeadroomDivisor
	}
	return n
}

// least is the least limit whose available is at least need. With D the
// divisor, n − ⌊n/D⌋ = ⌈(D−1)n/D⌉, which is at least need from
// n = ⌊D(need−1)/(D−1)⌋ + 1 on.
func (l lending) least() int64 {
	if !l.borrows() {
		return l.need()
	}
	const d = quota.DefaultHeadroomDivisor
	return d*(l.need()-1)/(d-1) + 1
}

// checkLending reports a socket or global quota (what, of limit n, set at
// field) that cannot give one association of r what lending says it needs.
func (d *decoder) checkLending(def hcl.Range, l lending, r *Relay, what string, n int64, field string) {
	if l.available(n) >= l.need() {
		return
	}
	p := relayField(r.Name)
	fields := []string{field, p + ".quota.association", p + ".max_message"}
	if !l.borrows() {
		d.conflict(def, fields,
			"%s %s cannot hold the reserves of one association of relay %q: it reserves min(quota.association, %s) = %s in each direction when it opens, %s in all, so every association would be refused; raise %s to at least %s",
			what, FormatSize(n), r.Name, FormatSize(quota.DefaultReserve), FormatSize(l.Reserve), FormatSize(l.need()), what, FormatSize(roundKiB(l.least())))
		return
	}
	d.conflict(def, fields,
		"%s %s lets borrowing beyond reserves fill it up to %s, keeping an eighth (%s) as headroom for reserves, less than the %s one association of relay %q needs there to relay one message of max_message %s: its worst-case true cost %s plus the %s reserve of the other direction (each direction reserves min(quota.association, %s)); such a message could never be relayed; raise %s to at least %s or lower max_message",
		what, FormatSize(n), FormatSize(l.available(n)), FormatSize(n/quota.DefaultHeadroomDivisor), FormatSize(l.need()), r.Name,
		FormatSize(r.MaxMessage), FormatSize(l.Cost), FormatSize(l.Reserve), FormatSize(quota.DefaultReserve), what, FormatSize(roundKiB(l.least())))
}

// roundKiB rounds n up to a whole KiB, for a suggested size.
func roundKiB(n int64) int64 {
	return (n + KiB - 1) / KiB * KiB
}

// checkLoop reports upstream addresses on which the relay listens itself:
// every association relayed there would come back to the relay, which would
// relay it again, without end, until the quotas or the ports run out. An
// upstream address is the relay's own when a listen address equals it (an
// IPv4-mapped IPv6 address equals its IPv4 one), or when it is a loopback
// address on the port of a wildcard listen address that covers it: 0.0.0.0
// binds every local IPv4 address, 127.0.0.0/8 included, and [::] every local
// address. Other local addresses a wildcard binds are not known here.
func (d *decoder) checkLoop(r *Relay) {
	p := relayField(r.Name)
	if d.bad[p+".listen"] || d.bad[p+".upstream"] {
		return
	}
	for i, u := range r.Upstream {
		for j, l := range r.Listen {
			if msg := loopText(l, u, j, d.at[p+".listen["+strconv.Itoa(j)+"]"]); msg != "" {
				uf := p + ".upstream[" + strconv.Itoa(i) + "]"
				d.errorf(d.at[uf], uf, "%s; every association would be relayed back to this relay, which would relay it again without end; set upstream to the peer's addresses, or listen on another address or port", msg)
				break
			}
		}
	}
}

// loopText says how listen address l (listen[j], at rng) also receives what
// is sent to upstream address u, or returns "".
func loopText(l, u netip.AddrPort, j int, rng hcl.Range) string {
	if l.Port() != u.Port() {
		return ""
	}
	la, ua := l.Addr().Unmap(), u.Addr().Unmap()
	switch {
	case la == ua:
		return fmt.Sprintf("%s is also listen[%d] of this relay, at %s", u, j, posString(rng))
	case covers(la, ua) && ua.IsLoopback():
		return fmt.Sprintf("%s is a loopback address on port %d, which listen[%d] %s at %s binds: a wildcard address receives on every local address (0.0.0.0 on every IPv4 one, [::] on all)", u, u.Port(), j, l, posString(rng))
	}
	return ""
}

// checkSendBuffer reports a max_message that this host's kernel would refuse
// to send, when the Host is known (WithHost). The relay asks SO_SNDBUF
// quota.association/2 for the sockets of each association, both legs (the
// shared socket of one_to_many asks quota.socket/2, no less); Linux caps what
// it is asked at net.core.wmem_max unless the process has CAP_NET_ADMIN,
// keeps twice that, and refuses (EMSGSIZE) to send a message longer than what
// it keeps, which aborts the message's association.
func (d *decoder) checkSendBuffer(r *Relay, def hcl.Range) {
	p := relayField(r.Name)
	if d.bad[p+".quota.association"] {
		return
	}
	asked := r.Quota.Association / 2
	buf, capped := d.host.sendBuffer(asked)
	if !capped || r.MaxMessage <= buf {
		return
	}
	wmem := (r.MaxMessage + 1) / 2
	d.conflict(def, []string{p + ".max_message"},
		"max_message %s is more than the send buffer of %s this host gives the relay's sockets, so Linux would refuse (EMSGSIZE) to send such a message and abort its association: the relay asks SO_SNDBUF %s (half of quota.association), which without CAP_NET_ADMIN the kernel caps at net.core.wmem_max %d and doubles; lower max_message to at most %s, raise net.core.wmem_max to at least %d (sysctl -w net.core.wmem_max=%d), or run sctpguard with CAP_NET_ADMIN",
		FormatSize(r.MaxMessage), FormatSize(buf), FormatSize(asked), d.host.WmemMax, FormatSize(buf), wmem, wmem)
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
