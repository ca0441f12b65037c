package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sctpguard/sctpguard/config"
)

// relaySrc is a file with one relay "r" on listen and upstream, the given
// extra attributes in its body and the given top-level blocks after it.
func relaySrc(listen, upstream, body, top string) string {
	return "relay \"r\" {\n  listen   = [" + listen + "]\n  upstream = [" + upstream + "]\n" + body + "}\n" + top
}

// quotaSrc is a file with one relay of the given max_message and quotas.
func quotaSrc(maxMessage, quota, top string) string {
	return relaySrc(`"127.0.0.1:3868"`, `"192.0.2.10:3868"`, "  max_message = \""+maxMessage+"\"\n  quota {\n"+quota+"  }\n", top)
}

// linux61 is the host the VM runs: the default net.core.wmem_max, as an
// unprivileged daemon sees it.
var linux61 = config.Host{WmemMax: 212992}

// TestValidateRules checks each rule of validate.go that spans fields, just
// refused and just accepted. want is a part of the one diagnostic expected,
// "field: message"; empty, none.
func TestValidateRules(t *testing.T) {
	tests := []struct {
		name string
		src  string
		host config.Host
		want string
	}{
		// quota.association must hold one max_message at its worst fragmentation point.
		{"issue 11: 64KiB in 192KiB", quotaSrc("64KiB", "association = \"192KiB\"\n", ""), config.Host{},
			"relay.r.quota.association: quota.association 192KiB is less than 260KiB, the worst-case true cost of one message of max_message 64KiB by the cost block (header 576B, overhead 1KiB): split into DATA chunks of 64964B"},
		{"64KiB in 259KiB", quotaSrc("64KiB", "association = \"259KiB\"\n", ""), config.Host{}, "raise quota.association to at least 260KiB"},
		{"64KiB in 260KiB", quotaSrc("64KiB", "association = \"260KiB\"\n", ""), config.Host{}, ""},
		{"64KiB in 260KiB, calibrated", quotaSrc("64KiB", "association = \"260KiB\"\n", "cost {\n  header = 542\n  overhead = 767\n}\n"), config.Host{}, ""},
		{"defaults: 256KiB in 1MiB", relaySrc(`"127.0.0.1:3868"`, `"192.0.2.10:3868"`, "", ""), config.Host{}, ""},
		{"kept whole", quotaSrc("1000B", "association = \"2KiB\"\n", ""), config.Host{}, "relay.r.quota.association: quota.association 2KiB is less than 3KiB, the worst-case true cost of one message of max_message 1000B by the cost block (header 576B, overhead 1KiB): kept whole in one DATA chunk"},

		// quota.socket and quota.global, less their headroom, must lend one
		// association its largest message beyond its reserves.
		{"socket lends too little", quotaSrc("64KiB", "association = \"260KiB\"\nsocket = \"370KiB\"\n", ""), config.Host{},
			"relay.r.quota.socket: quota.socket 370KiB lets borrowing beyond reserves fill it up to 331520B, keeping an eighth (47360B) as headroom for reserves, less than the 324KiB"},
		{"socket lends enough", quotaSrc("64KiB", "association = \"260KiB\"\nsocket = \"371KiB\"\n", ""), config.Host{}, ""},
		{"socket below reserves", quotaSrc("1KiB", "association = \"40KiB\"\nsocket = \"79KiB\"\n", ""), config.Host{},
			"relay.r.quota.socket: quota.socket 79KiB cannot hold the reserves of one association of relay \"r\": it reserves min(quota.association, 64KiB) = 40KiB in each direction"},
		{"socket holds reserves", quotaSrc("1KiB", "association = \"40KiB\"\nsocket = \"80KiB\"\n", ""), config.Host{}, ""},
		{"global lends too little", quotaSrc("64KiB", "association = \"260KiB\"\n", "quota {\n  global = \"370KiB\"\n}\n"), config.Host{},
			"quota.global: quota.global 370KiB lets borrowing beyond reserves fill it up to 331520B"},
		{"global lends enough", quotaSrc("64KiB", "association = \"260KiB\"\n", "quota {\n  global = \"371KiB\"\n}\n"), config.Host{}, ""},
		{"global below reserves", quotaSrc("1KiB", "association = \"40KiB\"\n", "quota {\n  global = \"79KiB\"\n}\n"), config.Host{},
			"quota.global: quota.global 79KiB cannot hold the reserves"},
		{"global below the association: reported once", quotaSrc("64KiB", "association = \"260KiB\"\n", "quota {\n  global = \"200KiB\"\n}\n"), config.Host{},
			"quota.global: quota.global 200KiB is less than quota.association 260KiB"},

		// upstream must not be the relay itself.
		{"upstream is listen", relaySrc(`"127.0.0.1:3868"`, `"127.0.0.1:3868"`, "", ""), config.Host{},
			"relay.r.upstream[0]: 127.0.0.1:3868 is also listen[0] of this relay, at line 2; every association would be relayed back to this relay"},
		{"upstream is loopback under 0.0.0.0", relaySrc(`"0.0.0.0:3868"`, `"192.0.2.10:3868", "127.1.2.3:3868"`, "", ""), config.Host{},
			"relay.r.upstream[1]: 127.1.2.3:3868 is a loopback address on port 3868, which listen[0] 0.0.0.0:3868 at line 2 binds"},
		{"upstream is IPv4 loopback under [::]", relaySrc(`"[::]:3868"`, `"127.0.0.1:3868"`, "", ""), config.Host{}, "relay.r.upstream[0]: 127.0.0.1:3868 is a loopback address"},
		{"upstream is a mapped listen", relaySrc(`"127.0.0.1:3868"`, `"[::ffff:127.0.0.1]:3868"`, "", ""), config.Host{}, "relay.r.upstream[0]: [::ffff:127.0.0.1]:3868 is also listen[0]"},
		{"remote peer on the wildcard's port", relaySrc(`"0.0.0.0:3868"`, `"192.0.2.10:3868"`, "", ""), config.Host{}, ""},
		{"IPv6 loopback under 0.0.0.0", relaySrc(`"0.0.0.0:3868"`, `"[::1]:3868"`, "", ""), config.Host{}, ""},
		{"loopback on another port", relaySrc(`"127.0.0.1:3868"`, `"127.0.0.1:3869"`, "", ""), config.Host{}, ""},
		{"ephemeral listen port", relaySrc(`"0.0.0.0:0"`, `"127.0.0.1:3868"`, "", ""), config.Host{}, ""},

		// max_message must fit the send buffer the host allows.
		{"send buffer capped by wmem_max", quotaSrc("1MiB", "association = \"4MiB\"\n", ""), linux61,
			"relay.r.max_message: max_message 1MiB is more than the send buffer of 416KiB this host gives the relay's sockets, so Linux would refuse (EMSGSIZE) to send such a message and abort its association: the relay asks SO_SNDBUF 2MiB (half of quota.association), which without CAP_NET_ADMIN the kernel caps at net.core.wmem_max 212992 and doubles; lower max_message to at most 416KiB, raise net.core.wmem_max to at least 524288 (sysctl -w net.core.wmem_max=524288), or run sctpguard with CAP_NET_ADMIN"},
		{"send buffer just enough", quotaSrc("416KiB", "association = \"4MiB\"\n", ""), linux61, ""},
		{"send buffer one byte short", quotaSrc("425985B", "association = \"4MiB\"\n", ""), linux61, "relay.r.max_message: max_message 425985B is more than the send buffer of 416KiB"},
		{"send buffer forced", quotaSrc("1MiB", "association = \"4MiB\"\n", ""), config.Host{WmemMax: 212992, NetAdmin: true}, ""},
		{"send buffer not capped", quotaSrc("64KiB", "association = \"260KiB\"\n", ""), linux61, ""},
		{"host unknown", quotaSrc("1MiB", "association = \"4MiB\"\n", ""), config.Host{}, ""},
		// a transparent relay's mark needs CAP_NET_ADMIN.
		{"mark refused", transparentSrc(`mark = "0x10"`), config.Host{NoMark: true},
			"relay.t.mark: mark 0x10: this process may not set SO_MARK (it needs CAP_NET_ADMIN)"},
		{"mark allowed", transparentSrc(`mark = "0x10"`), config.Host{}, ""},
		{"no mark, no capability needed", transparentSrc(""), config.Host{NoMark: true}, ""},
		{"transparent IPv6", "relay \"t\" {\n  listen = [\"[2001:db8::1]:13868\"]\n  transparent = true\n}\n", config.Host{}, ""},
		// SCTP over UDP needs net.sctp.udp_port.
		{"udp_port unset", udpSrc("upstream_udp_port = 9899"), config.Host{UDPKnown: true},
			"relay.r.upstream_udp_port: net.sctp.udp_port is 0 in this network namespace"},
		{"front over udp, udp_port unset", udpSrc("front_udp = true"), config.Host{UDPKnown: true},
			"relay.r.front_udp: net.sctp.udp_port is 0"},
		{"kernel without SCTP over UDP", udpSrc("upstream_udp_port = 9899"), config.Host{UDPKnown: true, UDPPort: -1},
			"relay.r.upstream_udp_port: this kernel has no SCTP over UDP"},
		{"udp_port set", udpSrc("upstream_udp_port = 9899\n  front_udp = true"), config.Host{UDPKnown: true, UDPPort: 9899}, ""},
		{"udp_port unknown", udpSrc("upstream_udp_port = 9899"), config.Host{}, ""},
		{"no udp, udp_port unset", udpSrc(""), config.Host{UDPKnown: true}, ""},
		{"send buffer at the default max_message", relaySrc(`"127.0.0.1:3868"`, `"192.0.2.10:3868"`, "", ""), config.Host{WmemMax: 100 << 10},
			"relay.r.max_message: max_message 256KiB is more than the send buffer of 200KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tt.src), "rules.hcl", config.WithHost(tt.host))
			var cerr *config.Error
			if err != nil && !errors.As(err, &cerr) {
				t.Fatalf("Parse: %v", err)
			}
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused, want accepted:\n%v", err)
			case tt.want == "":
			case err == nil:
				t.Errorf("accepted, want %q", tt.want)
			case len(cerr.Diags) != 1 || !strings.Contains(cerr.Diags[0].Field+": "+cerr.Diags[0].Message, tt.want):
				t.Errorf("got:\n%v\nwant one problem with %q", err, tt.want)
			}
		})
	}
}

// TestWithoutHost checks that Parse alone does not depend on the host.
func TestWithoutHost(t *testing.T) {
	src := quotaSrc("1MiB", "association = \"4MiB\"\n", "")
	if _, err := config.Parse([]byte(src), "rules.hcl"); err != nil {
		t.Errorf("Parse without WithHost: %v", err)
	}
}

// TestReadHost checks that this host's wmem_max is read.
func TestReadHost(t *testing.T) {
	h := config.ReadHost()
	if h.WmemMax <= 0 {
		t.Skipf("net.core.wmem_max unknown here: %+v", h)
	}
	t.Logf("%+v", h)
}

// TestAdminReadGroup: admin.read_group is accepted with a mode its members
// can connect through, and refused, with its line, when they could not, when
// it repeats admin.group, or when it is not a group name.
func TestAdminReadGroup(t *testing.T) {
	relay := relaySrc(`"127.0.0.1:3868"`, `"192.0.2.10:3868"`, "", "")
	for _, tt := range []struct {
		admin, want string
	}{
		{"mode = \"0660\"\n  group = \"ops\"\n  read_group = \"monitor\"", ""},
		{"mode = \"0660\"\n  read_group = \"4343\"", ""},
		{"group = \"ops\"\n  read_group = \"monitor\"", "rules.hcl:7:16: admin.read_group: admin.mode 0600 does not let group \"monitor\" connect to the socket; set admin.mode = \"0660\""},
		{"mode = \"0660\"\n  group = \"ops\"\n  read_group = \"ops\"", "rules.hcl:8:16: admin.read_group: \"ops\" is also admin.group"},
		{"mode = \"0660\"\n  read_group = \"mon itor\"", "rules.hcl:7:16: admin.read_group: \"mon itor\" is not a group name or id"},
		{"group = \"-x\"", "rules.hcl:6:11: admin.group: \"-x\" is not a group name or id"},
	} {
		src := relay + "admin {\n  " + tt.admin + "\n}\n"
		c, err := config.Parse([]byte(src), "rules.hcl")
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%q refused: %v", tt.admin, err)
		case tt.want == "" && c.Admin.ReadGroup == "":
			t.Errorf("%q: read_group lost", tt.admin)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%q: got %v, want %q", tt.admin, err, tt.want)
		}
	}
}

// transparentSrc is a transparent relay "t" with extra set in its block.
func transparentSrc(extra string) string {
	return "relay \"t\" {\n  listen = [\"10.0.0.1:13868\"]\n  transparent = true\n  " + extra + "\n}\n"
}

// udpSrc is a relay "r" with extra set in its block.
func udpSrc(extra string) string {
	return "relay \"r\" {\n  listen = [\"127.0.0.1:3868\"]\n  upstream = [\"192.0.2.10:3868\"]\n  " + extra + "\n}\n"
}
