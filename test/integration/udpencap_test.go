package integration

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/sctpsock"
	"github.com/sctpguard/sctpguard/test/echopeer"
)

// udpEncapPort is RFC 6951's port for SCTP over UDP, set as net.sctp.udp_port
// in both namespaces.
const udpEncapPort = 9899

// TestUDPEncap relays an association whose two legs both cross the veth as SCTP
// over UDP (RFC 6951), on the two hosts of newTwoHosts, with plain SCTP dropped
// on the veths in both namespaces, so that only encapsulated packets get through:
//
//	 netns guard                               netns peer
//	┌──────────────────────────────┐          ┌──────────────────────────────┐
//	│ sctpguard 10.1.0.1 [sg1a] ═══╪═ UDP ════╪═ [sg1b] 10.1.0.2  client     │
//	│   front_udp, upstream_udp_port         │                   echo :3868 │
//	│ udp_port 9899, drop iif sg* sctp        │ udp_port 9899, drop iif sg* sctp │
//	└──────────────────────────────┘          └──────────────────────────────┘
//
// The client reaches sctpguard over UDP (SCTP_REMOTE_UDP_ENCAPS_PORT on its
// socket), sctpguard reaches the peer over UDP (upstream_udp_port); a plain
// client gets no answer.
func TestUDPEncap(t *testing.T) {
	loadNetfilter(t)
	h := newTwoHosts(t)
	guardAddr, peerAddr := hostPaths[0][0].Addr(), hostPaths[0][1].Addr()
	const dropPlain = `table inet sgtest {
	chain in {
		type filter hook input priority 0; policy accept;
		iifname "sg*" meta l4proto sctp counter drop
	}
}`
	// Audited before any socket opens: without net.sctp.udp_port, check refuses
	// the file at the line of upstream_udp_port.
	h.in(h.guard, func() {
		cfg := filepath.Join(t.TempDir(), "udp.hcl")
		src := "relay \"udp\" {\n  listen = [\"" + guardAddr.String() + ":13900\"]\n  upstream = [\"" + peerAddr.String() + ":3868\"]\n  upstream_udp_port = 9899\n}\n"
		if err := os.WriteFile(cfg, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(os.Getenv(binEnv), "check", "-c", cfg).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "udp.hcl:4:23: relay.udp.upstream_udp_port: net.sctp.udp_port is 0") {
			t.Errorf("check without net.sctp.udp_port: %v\n%s", err, out)
		}
		t.Logf("audit: %s", strings.SplitN(string(out), "\n", 2)[0])
	})
	for _, ns := range []struct {
		name string
		in   func(func())
	}{{"guard", func(f func()) { h.in(h.guard, f) }}, {"peer", func(f func()) { h.in(h.peer, f) }}} {
		ns.in(func() {
			setSysctl(t, "net/sctp/udp_port", strconv.Itoa(udpEncapPort))
			loadRuleset(t, dropPlain)
		})
	}
	h.in(h.peer, func() {
		listenAt(t, []netip.AddrPort{netip.AddrPortFrom(peerAddr, 3868)}, sctpsock.Options{}, echopeer.Serve)
	})
	var g *guard
	h.in(h.guard, func() {
		g = startGuard(t, `
relay "udp" {
  listen            = ["`+guardAddr.String()+`:13900"]
  upstream          = ["`+peerAddr.String()+`:3868"]
  upstream_udp_port = `+strconv.Itoa(udpEncapPort)+`
  front_udp         = true
}
relay "usrsctp" {
  listen            = ["`+guardAddr.String()+`:13901"]
  upstream          = ["`+peerAddr.String()+`:7"]
  upstream_udp_port = 9900
}
log {
  level  = "debug"
  format = "json"
}
admin {
  socket = "%ADMIN%"
}
`)
	})
	relay := netip.AddrPortFrom(guardAddr, 13900)

	t.Run("plain is dropped", func(t *testing.T) {
		var err error
		h.in(h.peer, func() {
			_, err = sctpsock.Dial(ctxFor(t, 5*time.Second), nil, []netip.AddrPort{relay}, sctpsock.Options{InitTimeout: 2 * time.Second})
		})
		if err == nil {
			t.Fatal("a plain SCTP client reached sctpguard across the veth: the drop rule does not work, and the test would prove nothing")
		}
		t.Logf("plain SCTP: %v", err)
	})

	t.Run("relayed over UDP", func(t *testing.T) {
		var c *sctpsock.Conn
		h.in(h.peer, func() { c = dial(t, relay, sctpsock.Options{RemoteUDPPort: udpEncapPort}) })
		for i := range 3 {
			roundTrip(t, c, sctpsock.Msg{Data: []byte("over udp " + strconv.Itoa(i)), Stream: uint16(i), PPID: 46})
		}
		a := assocOf(t, g, c)
		if a.MsgsToUpstream != 3 || a.MsgsToFront != 3 {
			t.Errorf("status: msgs %d/%d, want 3/3", a.MsgsToUpstream, a.MsgsToFront)
		}
		t.Logf("relayed over UDP both ways: front %s, upstream %s, %d/%d messages", a.Front, a.Upstream, a.MsgsToUpstream, a.MsgsToFront)
	})

	t.Run("usrsctp peer", func(t *testing.T) {
		// libusrsctp's echo_server (Debian's libusrsctp-examples): a userland
		// SCTP stack that speaks only SCTP over UDP here, on UDP port 9900,
		// answering to the kernel's 9899, echoing on SCTP port 7.
		const server = "/usr/lib/usrsctp/echo_server"
		if _, err := os.Stat(server); err != nil {
			t.Fatalf("%v: run make setup (apt-get install libusrsctp-examples)", err)
		}
		var cmd *exec.Cmd
		h.in(h.peer, func() {
			cmd = exec.Command(server, "9900", strconv.Itoa(udpEncapPort))
			if err := cmd.Start(); err != nil {
				t.Fatalf("start %s: %v", server, err)
			}
		})
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		time.Sleep(500 * time.Millisecond) // until it listens
		var c *sctpsock.Conn
		h.in(h.guard, func() { c = dial(t, netip.AddrPortFrom(guardAddr, 13901), sctpsock.Options{}) })
		for i := range 3 {
			roundTrip(t, c, sctpsock.Msg{Data: []byte("to usrsctp " + strconv.Itoa(i)), Stream: uint16(i), PPID: 46})
		}
		a := assocOf(t, g, c)
		t.Logf("relayed to usrsctp's echo_server over UDP: upstream %s, %d/%d messages", a.Upstream, a.MsgsToUpstream, a.MsgsToFront)
	})
}
