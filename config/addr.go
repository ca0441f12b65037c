package config

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// endpoint is the role of an address list: the local addresses of a
// listener or the addresses of a peer.
type endpoint int

const (
	local endpoint = iota
	peer
)

// addrs decodes a list of "ip:port" strings: the addresses of one SCTP
// endpoint, so all on the same port and none twice.
func (d *decoder) addrs(expr hcl.Expression, field string, role endpoint) []netip.AddrPort {
	v, ok := d.value(expr, field)
	if !ok || v.CanIterateElements() && v.LengthInt() == 0 {
		if !d.bad[field] {
			hint := ""
			if role == peer {
				hint = ", or transparent = true to relay each association to the destination its application asked for"
			}
			d.reject(expr.Range(), field, "at least one address is required, such as [\"192.0.2.10:3868\"]%s", hint)
		}
		return nil
	}
	ty := v.Type()
	if !ty.IsListType() && !ty.IsTupleType() {
		d.reject(expr.Range(), field, "must be a list of at least one \"ip:port\", such as [\"192.0.2.10:3868\"], got %s", describe(v))
		return nil
	}
	ranges := elemRanges(expr, v.LengthInt())
	var out []netip.AddrPort
	for i, ev := range v.AsValueSlice() {
		ef := fmt.Sprintf("%s[%d]", field, i)
		ap, err := parseAddr(ev, role)
		if err != nil {
			d.bad[field] = true
			d.reject(ranges[i], ef, "%v", err)
			continue
		}
		d.at[ef] = ranges[i]
		out = append(out, ap)
	}
	if !d.bad[field] {
		d.checkEndpoint(field, out)
	}
	return out
}

// elemRanges returns the position of each element of a list expression,
// or of the whole list when they are not known.
func elemRanges(expr hcl.Expression, n int) []hcl.Range {
	elems, diags := hcl.ExprList(expr)
	out := make([]hcl.Range, n)
	for i := range out {
		out[i] = expr.Range()
		if !diags.HasErrors() && len(elems) == n {
			out[i] = elems[i].Range()
		}
	}
	return out
}

func parseAddr(v cty.Value, role endpoint) (netip.AddrPort, error) {
	if v.IsNull() || v.Type() != cty.String {
		return netip.AddrPort{}, fmt.Errorf("must be a string \"ip:port\", got %s", describe(v))
	}
	s := v.AsString()
	ap, err := netip.ParseAddrPort(s)
	switch {
	case err != nil && isHostPort(s):
		return ap, fmt.Errorf("must be an IP address and port, got %q; host names are not resolved", s)
	case err != nil:
		return ap, fmt.Errorf("must be an IP address and port such as \"192.0.2.10:3868\" or \"[2001:db8::10]:3868\", got %q", s)
	case role == peer && ap.Port() == 0:
		return ap, fmt.Errorf("%s: port must be 1 to 65535", s)
	case role == peer && ap.Addr().IsUnspecified():
		return ap, fmt.Errorf("%s: a peer address must not be unspecified", s)
	}
	return ap, nil
}

// isHostPort reports whether s looks like a host name and a port.
func isHostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return false
	}
	_, err = strconv.ParseUint(port, 10, 16)
	return err == nil
}

// checkEndpoint reports addresses of one endpoint on differing ports and
// addresses given twice (or covered by a wildcard in the same list).
func (d *decoder) checkEndpoint(field string, aps []netip.AddrPort) {
	for i, ap := range aps {
		ef := fmt.Sprintf("%s[%d]", field, i)
		if ap.Port() != aps[0].Port() {
			d.reject(d.at[ef], ef, "%s: port %d differs from port %d of %s[0]; the addresses of one endpoint share one port",
				ap, ap.Port(), aps[0].Port(), lastWord(field))
			continue
		}
		for j := range i {
			if ap == aps[j] {
				d.reject(d.at[ef], ef, "%s is listed twice, also at %s[%d]", ap, lastWord(field), j)
				break
			}
			if overlaps(ap, aps[j]) {
				d.reject(d.at[ef], ef, "%s overlaps %s at %s[%d]; a wildcard address binds every address", ap, aps[j], lastWord(field), j)
				break
			}
		}
	}
}

// overlaps reports whether binding a and b at once conflicts: the same
// address, or a wildcard covering the other, on the same port.
func overlaps(a, b netip.AddrPort) bool {
	if a.Port() != b.Port() {
		return false
	}
	x, y := a.Addr().Unmap(), b.Addr().Unmap()
	return x == y || covers(x, y) || covers(y, x)
}

// covers reports whether binding wildcard w also binds a (a dual-stack
// IPv6 wildcard covers IPv4 too).
func covers(w, a netip.Addr) bool {
	return w == netip.IPv6Unspecified() || w == netip.IPv4Unspecified() && a.Is4()
}

// hostPort decodes an optional "host:port" to serve HTTP on.
func (d *decoder) hostPort(expr hcl.Expression, field string) string {
	s := d.str(expr, field, "")
	if s == "" {
		return ""
	}
	_, port, err := net.SplitHostPort(s)
	if err == nil {
		var p uint64
		p, err = strconv.ParseUint(port, 10, 16)
		if p == 0 && err == nil {
			err = fmt.Errorf("port 0")
		}
	}
	if err != nil {
		d.reject(expr.Range(), field, "must be \"host:port\" with a port 1 to 65535, such as \"127.0.0.1:9368\", got %q", s)
		return ""
	}
	return s
}

// socketPath decodes the absolute path of a Unix socket.
func (d *decoder) socketPath(expr hcl.Expression, field string) string {
	s := d.str(expr, field, DefaultAdminSocket)
	switch {
	case !path.IsAbs(s):
		d.reject(expr.Range(), field, "must be an absolute path, got %q", s)
	case len(s) > maxSocketPath:
		d.reject(expr.Range(), field, "%q is %d bytes long; a Unix socket path holds at most %d", s, len(s), maxSocketPath)
	case strings.ContainsRune(s, 0):
		d.reject(expr.Range(), field, "%q contains a NUL byte", s)
	default:
		return s
	}
	return DefaultAdminSocket
}

// mode decodes the permission bits of the admin socket, as an octal
// string: HCL numbers are decimal, so 0660 would be read as 660.
func (d *decoder) mode(expr hcl.Expression, field string) os.FileMode {
	v, ok := d.value(expr, field)
	if !ok {
		return DefaultAdminMode
	}
	if v.Type() != cty.String {
		d.reject(expr.Range(), field, "must be an octal string such as \"0660\", got %s", describe(v))
		return DefaultAdminMode
	}
	s := v.AsString()
	m, err := strconv.ParseUint(s, 8, 32)
	switch {
	case err != nil || s == "":
		d.reject(expr.Range(), field, "%q is not an octal mode; want permission bits such as \"0600\" or \"0660\"", s)
	case m&^0o777 != 0:
		d.reject(expr.Range(), field, "%q: only permission bits are allowed, 0600 to 0770", s)
	case m&0o007 != 0:
		d.reject(expr.Range(), field, "%q gives others access, so any local user could change quotas; allowed 0600 to 0770, with admin.group", s)
	case m&0o600 != 0o600:
		d.reject(expr.Range(), field, "%q must let the owner read and write (0600)", s)
	default:
		return os.FileMode(m)
	}
	return DefaultAdminMode
}

// lastWord returns the last element of a dotted field name.
func lastWord(field string) string {
	return field[strings.LastIndexByte(field, '.')+1:]
}

// posString formats the start of rng for a message about the same file.
func posString(rng hcl.Range) string {
	return fmt.Sprintf("line %d", rng.Start.Line)
}
