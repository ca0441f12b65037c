package integration

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/sctpguard/sctpguard/admin"
	"github.com/sctpguard/sctpguard/sctpsock"
	"github.com/sctpguard/sctpguard/test/echopeer"
	"github.com/sctpguard/sctpguard/test/rig"
)

// TestTransparent runs a transparent relay behind the nftables ruleset of
// examples/transparent.nft, on the two hosts of newTwoHosts, with the real
// netfilter modules:
//
//	 netns guard                                          netns peer
//	┌──────────────────────────────────────────┐        ┌─────────────────────────┐
//	│ app ─▶ 10.1.0.2:3868 ─(output: dnat)─┐   │        │                         │
//	│       sctpguard "outbound" 10.1.0.1:13868│        │  echo     :3868 :3869   │
//	│         └─ mark 0x5c7 ─▶ 10.1.0.2:3868 ══╪═ path 1╪═ receiver :3870 (stalled)│
//	│ app :3868 ◀─ sctpguard "inbound"  :13869 │        │                         │
//	│   ▲─(prerouting: dnat 10.2.0.1:3868)─────╪═ path 2╪═ client ─▶ 10.2.0.1:3868 │
//	└──────────────────────────────────────────┘        └─────────────────────────┘
//
// An unmodified application connects to the peer's own address and is relayed
// (messages intact, the original destination in status), charged and bounded
// (a flood toward a receiver that does not read holds no more than the quota);
// what the rules do not match (another port, another peer address) goes
// straight to the peer; a peer connecting to a local application is relayed
// too; and without the mark's exemption the relay refuses its own connect
// coming back to it (relay_loop) instead of looping.
func TestTransparent(t *testing.T) {
	loadNetfilter(t)
	h := newTwoHosts(t)
	relayAddr := hostPaths[0][0].Addr()
	peer1, peer2 := hostPaths[0][1].Addr(), hostPaths[1][1].Addr()
	appAddr := netip.AddrPortFrom(hostPaths[1][0].Addr(), 3868)

	echoes := newSeen()
	var mu sync.Mutex
	var receivers []*sctpsock.Conn
	h.in(h.peer, func() {
		for _, port := range []uint16{3868, 3869} {
			listenAt(t, []netip.AddrPort{netip.AddrPortFrom(peer1, port), netip.AddrPortFrom(peer2, port)}, sctpsock.Options{},
				func(c *sctpsock.Conn) { echoes.add(c); echopeer.Serve(c) })
		}
		listenAt(t, []netip.AddrPort{netip.AddrPortFrom(peer1, 3870)}, sctpsock.Options{RecvBuffer: 8 << 20}, func(c *sctpsock.Conn) {
			mu.Lock()
			receivers = append(receivers, c)
			mu.Unlock()
		})
	})
	apps := newSeen()
	var g *guard
	h.in(h.guard, func() {
		listenAt(t, []netip.AddrPort{appAddr}, sctpsock.Options{}, func(c *sctpsock.Conn) { apps.add(c); echopeer.Serve(c) })
		loadRuleset(t, rulesetFor(t, relayAddr, peer1, appAddr, true))
		g = startGuard(t, transparentConfig(relayAddr))
	})

	t.Run("relayed", func(t *testing.T) {
		var c *sctpsock.Conn
		h.in(h.guard, func() { c = dial(t, netip.AddrPortFrom(peer1, 3868), sctpsock.Options{OutStreams: 4}) })
		want := sctpsock.Msg{Data: []byte("diameter CER"), Stream: 2, PPID: 46}
		roundTrip(t, c, want)
		a := assocOf(t, g, c)
		if a.Relay != "outbound" || a.OriginalDst != "10.1.0.2:3868" || a.MsgsToUpstream != 1 || a.MsgsToFront != 1 {
			t.Errorf("status: relay %q, original_dst %q, msgs %d/%d; want outbound, 10.1.0.2:3868, 1/1", a.Relay, a.OriginalDst, a.MsgsToUpstream, a.MsgsToFront)
		}
		if e := g.findLog("association refused"); e != nil {
			t.Errorf("refused: %v", e)
		}
		// The peer sees the relay's upstream socket, not the application's.
		if p := echoes.peerPortOf(t, localPort(t, c)); p {
			t.Errorf("the peer saw the application's own port %d: not relayed", localPort(t, c))
		}
		t.Logf("relayed: front %s, upstream %s, original destination %s", a.Front, a.Upstream, a.OriginalDst)
	})

	t.Run("untouched", func(t *testing.T) {
		before := relayTotals(t, g, "outbound").Accepted
		for _, dst := range []netip.AddrPort{netip.AddrPortFrom(peer1, 3869), netip.AddrPortFrom(peer2, 3868)} {
			var c *sctpsock.Conn
			h.in(h.guard, func() { c = dial(t, dst, sctpsock.Options{}) })
			roundTrip(t, c, sctpsock.Msg{Data: []byte("direct"), Stream: 0, PPID: 3})
			if !echoes.peerPortOf(t, localPort(t, c)) {
				t.Errorf("%s: the peer did not see the application's own port %d: the association was redirected", dst, localPort(t, c))
			}
			c.Close()
		}
		if after := relayTotals(t, g, "outbound").Accepted; after != before {
			t.Errorf("the relay accepted %d associations the rules do not match", after-before)
		}
	})

	t.Run("inbound", func(t *testing.T) {
		var c *sctpsock.Conn
		h.in(h.peer, func() { c = dial(t, appAddr, sctpsock.Options{}) })
		roundTrip(t, c, sctpsock.Msg{Data: []byte("inbound"), Stream: 1, PPID: 60})
		st := guardStatus(t, g)
		found := false
		for _, a := range st.Associations {
			if a.Relay == "inbound" && a.OriginalDst == appAddr.String() {
				found = true
			}
		}
		if !found {
			t.Errorf("no inbound association to %s in status: %+v", appAddr, st.Associations)
		}
		if apps.peerPortOf(t, localPort(t, c)) {
			t.Errorf("the application saw the remote peer's own port: not relayed")
		}
	})

	t.Run("flood", func(t *testing.T) {
		const quota = 1 << 20
		var c *sctpsock.Conn
		h.in(h.guard, func() { c = dial(t, netip.AddrPortFrom(peer1, 3870), sctpsock.Options{NoDelay: true}) })
		sent := floodUntilBlocked(c)
		quiesce()
		a := assocOf(t, g, c)
		mu.Lock()
		if len(receivers) != 1 {
			mu.Unlock()
			t.Fatalf("%d receivers, want 1", len(receivers))
		}
		r := receivers[0]
		mu.Unlock()
		rq, _, err := r.Queued()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("flood: the application sent %d 1-byte messages before blocking; sctpguard relayed %d and holds %d B toward the receiver (quota %d B); the receiver's queue holds %d B; original destination %s",
			sent, a.MsgsToUpstream, a.HeldToUpstream, a.Quota, rq, a.OriginalDst)
		if a.OriginalDst != "10.1.0.2:3870" {
			t.Errorf("original_dst %q, want 10.1.0.2:3870", a.OriginalDst)
		}
		if a.HeldToUpstream == 0 || a.HeldToUpstream > quota+quota/8+4<<10 {
			t.Errorf("held %d B toward the stalled receiver, want 0 < held <= %d + probes", a.HeldToUpstream, quota)
		}
		if int64(rq) > quota+quota/8+64<<10 {
			t.Errorf("the stalled receiver holds %d B, more than the quota", rq)
		}
		got := drainReceivers(t, []*sctpsock.Conn{r}, []int{sent})
		oneMore(t, []*sctpsock.Conn{c}, []*sctpsock.Conn{r}, []int{sent}, got)
	})

	t.Run("ipv6", func(t *testing.T) {
		// The same through ip6 NAT: the kernel answers IP6T_SO_ORIGINAL_DST on
		// SOL_IPV6 for the relay's IPv6 socket.
		relay6, peer6 := netip.MustParsePrefix("fd00:51::1/64"), netip.MustParsePrefix("fd00:51::2/64")
		h.must("address "+relay6.String(), h.gh.AddrAdd(h.link(0, false), &netlink.Addr{IPNet: ipNet(relay6), Flags: unix.IFA_F_NODAD}))
		h.must("address "+peer6.String(), h.ph.AddrAdd(h.link(0, true), &netlink.Addr{IPNet: ipNet(peer6), Flags: unix.IFA_F_NODAD}))
		dst := netip.AddrPortFrom(peer6.Addr(), 3868)
		h.in(h.peer, func() { listenAt(t, []netip.AddrPort{dst}, sctpsock.Options{}, echopeer.Serve) })
		var g6 *guard
		h.in(h.guard, func() {
			cmd := exec.Command("nft", "-f", "-")
			cmd.Stdin = strings.NewReader(`table ip6 sctpguard6 {
	chain outbound {
		type nat hook output priority -100; policy accept;
		meta mark 0x5c7 return
		ip6 daddr ` + peer6.Addr().String() + ` sctp dport 3868 dnat to [` + relay6.Addr().String() + `]:13870
	}
}`)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("nft ip6: %v %s", err, out)
			}
			g6 = startGuard(t, `
relay "v6" {
  listen      = ["[`+relay6.Addr().String()+`]:13870"]
  transparent = true
  mark        = "0x5c7"
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
		var c *sctpsock.Conn
		h.in(h.guard, func() { c = dial(t, dst, sctpsock.Options{}) })
		roundTrip(t, c, sctpsock.Msg{Data: []byte("over ipv6"), Stream: 1, PPID: 46})
		a := assocOf(t, g6, c)
		if a.OriginalDst != dst.String() {
			t.Errorf("original_dst %q, want %s", a.OriginalDst, dst)
		}
		t.Logf("ipv6: front %s, upstream %s, original destination %s", a.Front, a.Upstream, a.OriginalDst)
	})

	t.Run("loop", func(t *testing.T) {
		h.in(h.guard, func() { loadRuleset(t, rulesetFor(t, relayAddr, peer1, appAddr, false)) })
		var c *sctpsock.Conn
		var err error
		h.in(h.guard, func() {
			c, err = sctpsock.Dial(ctxFor(t, 20*time.Second), nil, []netip.AddrPort{netip.AddrPortFrom(peer1, 3868)}, sctpsock.Options{})
		})
		if err == nil {
			defer c.Close()
			if _, rerr := readEnd(c, 10*time.Second); rerr == nil {
				t.Errorf("the association survived a ruleset that redirects the relay's own connect")
			}
		}
		e := g.waitLog("association refused", 10*time.Second, "error", "redirected back to it")
		t.Logf("without the mark's exemption: %v", e["error"])
		if n := relayTotals(t, g, "outbound").Ended["relay_loop"]; n == 0 {
			t.Errorf("no association counted as relay_loop: %+v", relayTotals(t, g, "outbound").Ended)
		}
		if n := relayTotals(t, g, "outbound").Accepted; n > 20 {
			t.Errorf("the relay accepted %d associations: the loop was not cut", n)
		}
	})
}

// loadNetfilter loads the netfilter modules that setup.sh unpacked for the
// VM's kernel (cache/current/netfilter), or, on a host whose kernel has SCTP,
// its own through modprobe; and checks that nft is there.
func loadNetfilter(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		t.Fatal("no nft on PATH: run make setup (apt-get install nftables)")
	}
	dir := filepath.Join(rig.CacheDir(), "current", "netfilter")
	order, err := os.ReadFile(filepath.Join(dir, "order"))
	if err != nil && os.Getenv(rig.GuestEnv) == "1" {
		t.Fatalf("netfilter modules: %v: run make setup", err)
	}
	for _, m := range strings.Fields(string(order)) {
		if _, err := os.Stat("/sys/module/" + m); err == nil {
			continue
		}
		if err := insmod(filepath.Join(dir, m+".ko")); err != nil {
			if out, merr := exec.Command("modprobe", m).CombinedOutput(); merr != nil {
				t.Fatalf("load %s: %v; modprobe: %v %s", m, err, merr, out)
			}
		}
	}
	if os.Getenv(rig.GuestEnv) != "1" && len(order) == 0 {
		if out, err := exec.Command("modprobe", "-a", "nf_conntrack", "nf_nat", "nft_chain_nat", "nft_nat").CombinedOutput(); err != nil {
			t.Fatalf("modprobe netfilter: %v %s", err, out)
		}
	}
}

func insmod(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), "", 0); err != nil && err != unix.EEXIST {
		return fmt.Errorf("finit_module %s: %w", path, err)
	}
	return nil
}

// rulesetFor is examples/transparent.nft with its defines set for the test's
// hosts; without exempt, the rule that lets the relay's marked sockets pass is
// left out.
func rulesetFor(t *testing.T, relay, peer netip.Addr, app netip.AddrPort, exempt bool) string {
	t.Helper()
	b, err := os.ReadFile("../../examples/transparent.nft")
	if err != nil {
		t.Fatal(err)
	}
	defines := map[string]string{
		"RELAY_ADDR": relay.String(), "OUT_PORT": "13868", "IN_PORT": "13869", "RELAY_MARK": "0x5c7",
		"PEERS": "{ " + peer.String() + " }", "PEER_PORTS": "{ 3868, 3870 }",
		"APP_ADDR": app.Addr().String(), "APP_PORTS": fmt.Sprintf("{ %d }", app.Port()),
	}
	s := string(b)
	for k, v := range defines {
		re := regexp.MustCompile(`(?m)^define ` + k + ` = .*$`)
		if !re.MatchString(s) {
			t.Fatalf("examples/transparent.nft has no define %s", k)
		}
		s = re.ReplaceAllString(s, "define "+k+" = "+v)
	}
	if !exempt {
		s = strings.Replace(s, "meta mark $RELAY_MARK return", "", 1)
	}
	return s
}

// loadRuleset replaces the sctpguard table of the current netns with ruleset.
func loadRuleset(t *testing.T, ruleset string) {
	t.Helper()
	exec.Command("nft", "delete", "table", "ip", "sctpguard").Run() // absent the first time
	cmd := exec.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft -f: %v\n%s\n%s", err, out, ruleset)
	}
}

func transparentConfig(relay netip.Addr) string {
	return fmt.Sprintf(`
relay "outbound" {
  listen      = ["%s:13868"]
  transparent = true
  mark        = "0x5c7"
  quota {
    association = "1MiB"
  }
}
relay "inbound" {
  listen      = ["%s:13869"]
  transparent = true
  mark        = "0x5c7"
}
quota {
  global = "16MiB"
}
log {
  level  = "debug"
  format = "json"
}
admin {
  socket = "%%ADMIN%%"
}
`, relay, relay)
}

// listenAt starts a listener on addrs in the current netns, serving each
// association in its own goroutine, until the test ends.
func listenAt(t *testing.T, addrs []netip.AddrPort, o sctpsock.Options, serve func(*sctpsock.Conn)) {
	t.Helper()
	ln, err := sctpsock.Listen(addrs, o)
	if err != nil {
		t.Fatalf("listen %v: %v", addrs, err)
	}
	p := &peer{ln: ln, addr: ln.Addrs()[0]}
	go p.accept(serve)
	t.Cleanup(func() { ln.Close() })
}

// roundTrip sends m and checks it comes back intact from an echoing peer.
func roundTrip(t *testing.T, c *sctpsock.Conn, m sctpsock.Msg) {
	t.Helper()
	if err := c.WriteMsg(m); err != nil {
		t.Fatalf("write: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := readData(c, make([]byte, 64<<10))
	if err != nil {
		t.Fatalf("read the echo: %v", err)
	}
	if !bytes.Equal(got.Data, m.Data) || got.Stream != m.Stream || got.PPID != m.PPID {
		t.Fatalf("echo %q stream %d ppid %d, want %q stream %d ppid %d", got.Data, got.Stream, got.PPID, m.Data, m.Stream, m.PPID)
	}
}

// assocOf is the status row of the relayed association whose front is c.
func assocOf(t *testing.T, g *guard, c *sctpsock.Conn) admin.AssocStatus {
	t.Helper()
	port := localPort(t, c)
	st := guardStatus(t, g)
	for _, a := range st.Associations {
		// Front is one address, or "[a b]" for a multi-homed application.
		first := a.Front
		if strings.Contains(first, " ") {
			first = strings.Fields(strings.TrimPrefix(first, "["))[0]
		}
		if ap, err := netip.ParseAddrPort(first); err == nil && ap.Port() == port {
			return a
		}
	}
	t.Fatalf("no association from port %d in status: %+v", port, st.Associations)
	return admin.AssocStatus{}
}

func relayTotals(t *testing.T, g *guard, name string) admin.RelayTotals {
	t.Helper()
	for _, r := range guardStatus(t, g).Relays {
		if r.Name == name {
			return r.Totals
		}
	}
	t.Fatalf("no relay %q in status", name)
	return admin.RelayTotals{}
}

func localPort(t *testing.T, c *sctpsock.Conn) uint16 {
	t.Helper()
	addrs, err := c.LocalAddrs()
	if err != nil || len(addrs) == 0 {
		t.Fatalf("local addresses: %v %v", addrs, err)
	}
	return addrs[0].Port()
}

// seen records the peer ports of the associations a listener accepted.
type seen struct {
	mu    sync.Mutex
	ports map[uint16]bool
}

func newSeen() *seen { return &seen{ports: map[uint16]bool{}} }

func (s *seen) add(c *sctpsock.Conn) {
	addrs, err := c.PeerAddrs()
	if err != nil || len(addrs) == 0 {
		return
	}
	s.mu.Lock()
	s.ports[addrs[0].Port()] = true
	s.mu.Unlock()
}

// peerPortOf reports whether an accepted association came from port.
func (s *seen) peerPortOf(t *testing.T, port uint16) bool {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ports[port]
}
