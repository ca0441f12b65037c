package config

import (
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// noUpstream reports an upstream set on a transparent relay, which connects
// each association to its own original destination.
func (d *decoder) noUpstream(expr hcl.Expression, field string) {
	if _, ok := d.value(expr, field); !ok {
		return
	}
	d.reject(expr.Range(), field, "a transparent relay connects each association to the destination its application asked for (SO_ORIGINAL_DST), so it has no upstream; remove upstream, or set transparent = false")
}

// noPrimary reports a path.primary on a transparent relay: it has no upstream
// addresses to choose from.
func (d *decoder) noPrimary(expr hcl.Expression, field string) {
	if _, ok := d.value(expr, field); !ok {
		return
	}
	d.reject(expr.Range(), field, "a transparent relay has no upstream addresses to choose a primary path from: each association's upstream is its original destination; remove path.primary")
}

// mark decodes an SO_MARK value: a whole number 1..0xffffffff, or a string
// such as "0x100" (HCL has no hexadecimal numbers). Unset is zero.
func (d *decoder) mark(expr hcl.Expression, field string) uint32 {
	v, ok := d.value(expr, field)
	if !ok {
		return 0
	}
	var n uint64
	var valid bool
	switch v.Type() {
	case cty.Number:
		u, acc := v.AsBigFloat().Uint64()
		n, valid = u, acc == big.Exact
	case cty.String:
		u, err := strconv.ParseUint(strings.TrimSpace(v.AsString()), 0, 64)
		n, valid = u, err == nil
	}
	if !valid || n == 0 || n > math.MaxUint32 {
		d.reject(expr.Range(), field, "must be a socket mark from 1 to 0xffffffff, as a number or a string such as \"0x100\", got %s", describe(v))
		return 0
	}
	return uint32(n)
}

// checkTransparent reports what a transparent relay cannot work with, and a
// mark on a relay that is not transparent.
//
// The kernel answers SO_ORIGINAL_DST by looking conntrack up with the
// accepted socket's bound address and port and its peer's
// (net/netfilter/nf_conntrack_proto.c, getorigdst): the socket must be bound
// to the very address the rules DNAT to, and a wildcard is bound to none.
// REDIRECT and DNAT to a loopback address get no answer to INIT on Linux 6.1.
// A one-to-many socket holds many associations and answers for none.
func (d *decoder) checkTransparent(r *Relay, def hcl.Range) {
	p := relayField(r.Name)
	if !r.Transparent {
		if r.Mark != 0 {
			d.errorf(d.at[p+".mark"], p+".mark", "mark is set on the upstream sockets of a transparent relay so that the ruleset can exempt them from the redirect; this relay is not transparent; remove mark, or set transparent = true")
		}
		return
	}
	if r.Mark != 0 && d.host.NoMark {
		d.errorf(d.at[p+".mark"], p+".mark", "mark %#x: this process may not set SO_MARK (it needs CAP_NET_ADMIN); run sctpguard with CAP_NET_ADMIN (systemd: AmbientCapabilities=CAP_NET_ADMIN and CapabilityBoundingSet=CAP_NET_ADMIN), or remove mark and exempt the relay's sockets by owner (meta skuid)", r.Mark)
	}
	if r.ListenStyle == StyleOneToMany && !d.bad[p+".listen_style"] {
		d.conflict(def, []string{p + ".listen_style", p + ".transparent"},
			"listen_style \"one_to_many\" cannot be transparent: the original destination is read per accepted socket (SO_ORIGINAL_DST), and a one-to-many socket holds many associations; use listen_style \"one_to_one\"")
	}
	if d.bad[p+".listen"] {
		return
	}
	if len(r.Listen) > 1 {
		ef := p + ".listen[1]"
		d.errorf(d.at[ef], ef, "a transparent relay listens on one address, the one the ruleset DNATs to: the kernel finds the original destination by the accepted socket's bound address, which is the first of several; make a relay per address")
		return
	}
	l, ef := r.Listen[0], p+".listen[0]"
	switch a := l.Addr().Unmap(); {
	case a.IsUnspecified():
		d.errorf(d.at[ef], ef, "%s: a transparent relay cannot listen on a wildcard address: the kernel finds the original destination by the accepted socket's bound address, and a wildcard socket is bound to none; listen on the local address the ruleset DNATs to, such as a dummy interface's", l)
	case a.IsLoopback():
		d.errorf(d.at[ef], ef, "%s: a transparent relay cannot listen on a loopback address: Linux answers no INIT that netfilter redirected to loopback; listen on a local non-loopback address and DNAT to it", l)
	case l.Port() == 0:
		d.errorf(d.at[ef], ef, "%s: a transparent relay needs a fixed port, which the ruleset DNATs to; port must be 1 to 65535", l)
	}
}
