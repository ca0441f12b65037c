package integration

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// twoHosts is the topology of the multi-homing and fault tests: two network
// namespaces joined by two veth pairs, two independent paths. Each test gets its
// own, so nothing of the machine's (or the VM's) network is touched, and closing
// the namespaces removes everything.
//
//	 netns guard (the relay's host)                netns peer (the upstream host)
//	┌────────────────────────────────┐            ┌────────────────────────────┐
//	│ front client ──lo── sctpguard  │            │            upstream peer   │
//	│               10.1.0.1 [sg1a] ═╪══ path 1 ══╪═ [sg1b] 10.1.0.2           │
//	│               10.2.0.1 [sg2a] ═╪══ path 2 ══╪═ [sg2b] 10.2.0.2           │
//	└────────────────────────────────┘            └────────────────────────────┘
//
// The multi-homed association under test is sctpguard's upstream leg: sctpguard
// dials both peer addresses (path 1 first, so it is the primary path) from both of
// its own. The front leg stays on loopback.
type twoHosts struct {
	t           *testing.T
	guard, peer netns.NsHandle
	gh, ph      *netlink.Handle // netlink in each namespace
}

// hostPaths are the addresses of the two paths, [path][guard, peer].
var hostPaths = [2][2]netip.Prefix{
	{netip.MustParsePrefix("10.1.0.1/24"), netip.MustParsePrefix("10.1.0.2/24")},
	{netip.MustParsePrefix("10.2.0.1/24"), netip.MustParsePrefix("10.2.0.2/24")},
}

// peerAddrs are the upstream peer's addresses on port, path 1 first.
func peerAddrs(port uint16) []netip.AddrPort {
	return []netip.AddrPort{netip.AddrPortFrom(hostPaths[0][1].Addr(), port), netip.AddrPortFrom(hostPaths[1][1].Addr(), port)}
}

func vethName(path int, peerSide bool) string {
	if peerSide {
		return fmt.Sprintf("sg%db", path+1)
	}
	return fmt.Sprintf("sg%da", path+1)
}

// newTwoHosts builds the topology; it is torn down when the test ends. It needs
// root (CAP_NET_ADMIN and CAP_SYS_ADMIN), as the tests have in the rig's VM.
func newTwoHosts(t *testing.T) *twoHosts {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("network namespaces need root: run as root, or in the rig's VM (SCTPGUARD_RIG=vm)")
	}
	h := &twoHosts{t: t, guard: newNetns(t), peer: newNetns(t)}
	var err error
	if h.gh, err = netlink.NewHandleAt(h.guard, unix.NETLINK_ROUTE); err != nil {
		t.Fatalf("netlink in netns guard: %v", err)
	}
	t.Cleanup(h.gh.Close)
	if h.ph, err = netlink.NewHandleAt(h.peer, unix.NETLINK_ROUTE); err != nil {
		t.Fatalf("netlink in netns peer: %v", err)
	}
	t.Cleanup(h.ph.Close)
	for _, nh := range []*netlink.Handle{h.gh, h.ph} {
		lo, err := nh.LinkByName("lo")
		if err != nil {
			t.Fatalf("lo: %v", err)
		}
		h.must("set lo up", nh.LinkSetUp(lo))
	}
	for path := range hostPaths {
		h.addPath(path)
	}
	return h
}

// addPath makes the veth pair of one path, its addresses, and brings it up.
func (h *twoHosts) addPath(path int) {
	ga, pb := vethName(path, false), vethName(path, true)
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: ga}, PeerName: pb, PeerNamespace: netlink.NsFd(int(h.peer))}
	h.must("add veth "+ga, h.gh.LinkAdd(veth))
	for side, nh := range []*netlink.Handle{h.gh, h.ph} {
		link := h.link(path, side == 1)
		addr := &netlink.Addr{IPNet: ipNet(hostPaths[path][side])}
		h.must("address "+link.Attrs().Name, nh.AddrAdd(link, addr))
		h.must("set up "+link.Attrs().Name, nh.LinkSetUp(link))
	}
}

func (h *twoHosts) handle(peerSide bool) *netlink.Handle {
	if peerSide {
		return h.ph
	}
	return h.gh
}

func (h *twoHosts) link(path int, peerSide bool) netlink.Link {
	h.t.Helper()
	name := vethName(path, peerSide)
	l, err := h.handle(peerSide).LinkByName(name)
	if err != nil {
		h.t.Fatalf("link %s: %v", name, err)
	}
	return l
}

// setLink takes a path's link down or up, on the guard's side (the peer's end then
// has no carrier either).
func (h *twoHosts) setLink(path int, up bool) {
	h.t.Helper()
	l := h.link(path, false)
	if up {
		h.must("set up "+l.Attrs().Name, h.gh.LinkSetUp(l))
	} else {
		h.must("set down "+l.Attrs().Name, h.gh.LinkSetDown(l))
	}
}

// setLoss makes a path lose pct percent of its packets each way (tc qdisc netem
// loss on both ends); 0 removes the netem qdisc.
func (h *twoHosts) setLoss(path int, pct float32) {
	h.t.Helper()
	h.setNetem(path, netlink.NetemQdiscAttrs{Loss: pct})
}

// setNetem puts a netem qdisc with a on both ends of a path; a zero a removes it.
func (h *twoHosts) setNetem(path int, a netlink.NetemQdiscAttrs) {
	h.t.Helper()
	for _, peerSide := range []bool{false, true} {
		l := h.link(path, peerSide)
		q := netlink.NewNetem(netlink.QdiscAttrs{
			LinkIndex: l.Attrs().Index,
			Handle:    netlink.MakeHandle(1, 0),
			Parent:    netlink.HANDLE_ROOT,
		}, a)
		if a == (netlink.NetemQdiscAttrs{}) {
			h.must("delete netem on "+l.Attrs().Name, h.handle(peerSide).QdiscDel(q))
		} else {
			h.must(fmt.Sprintf("netem %v on %s", a, l.Attrs().Name), h.handle(peerSide).QdiscReplace(q))
		}
	}
}

// txPackets is how many packets the guard's end of a path has sent.
func (h *twoHosts) txPackets(path int) uint64 {
	h.t.Helper()
	if s := h.link(path, false).Attrs().Statistics; s != nil {
		return s.TxPackets
	}
	return 0
}

// txBytes is the bytes sent on sctpguard's side of path (0 or 1).
func (h *twoHosts) txBytes(path int) uint64 {
	h.t.Helper()
	if s := h.link(path, false).Attrs().Statistics; s != nil {
		return s.TxBytes
	}
	return 0
}

func (h *twoHosts) must(what string, err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatalf("%s: %v", what, err)
	}
}

// in runs f on an OS thread in namespace ns. Sockets opened by f stay in ns
// whichever thread uses them later, and a process started by f runs in ns.
func (h *twoHosts) in(ns netns.NsHandle, f func()) {
	h.t.Helper()
	inNetns(h.t, ns, f)
}

func inNetns(t *testing.T, ns netns.NsHandle, f func()) {
	t.Helper()
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("current netns: %v", err)
	}
	defer orig.Close()
	if err := netns.Set(ns); err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("enter netns: %v", err)
	}
	defer restoreNetns(t, orig)
	f()
}

// restoreNetns moves the locked thread back to orig. If it cannot, the thread stays
// locked, so the runtime ends it with the goroutine rather than reuse it.
func restoreNetns(t *testing.T, orig netns.NsHandle) {
	if err := netns.Set(orig); err != nil {
		t.Errorf("leave netns: %v", err)
		return
	}
	runtime.UnlockOSThread()
}

// newNetns makes a network namespace that lives until the test ends (and as long
// as a socket or process still uses it).
func newNetns(t *testing.T) netns.NsHandle {
	t.Helper()
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("current netns: %v", err)
	}
	defer orig.Close()
	ns, err := netns.New() // the thread is now in ns
	if err != nil {
		restoreNetns(t, orig)
		t.Fatalf("new netns: %v", err)
	}
	restoreNetns(t, orig)
	t.Cleanup(func() { ns.Close() })
	return ns
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// consumerHost is the topology of the tests whose consumer sits in another network
// namespace on the same host, as a container does: one veth pair, and the
// consumer's sockets in its own namespace, invisible to sctpguard's
// /proc/net/sctp/assocs and sock_diag.
//
//	 the test's netns (sctpguard, senders)          netns consumer
//	┌──────────────────────────────────┐          ┌──────────────────────────┐
//	│ sender ──lo── sctpguard          │          │          receiver        │
//	│               10.9.0.1 [sgc0a] ══╪══ veth ══╪═ [sgc0b] 10.9.0.2        │
//	└──────────────────────────────────┘          └──────────────────────────┘
type consumerHost struct {
	t  *testing.T
	ns netns.NsHandle
}

var consumerPath = [2]netip.Prefix{netip.MustParsePrefix("10.9.0.1/24"), netip.MustParsePrefix("10.9.0.2/24")}

// newConsumerHost builds the topology; it is torn down when the test ends.
func newConsumerHost(t *testing.T) *consumerHost {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("network namespaces need root: run as root, or in the rig's VM")
	}
	h := &consumerHost{t: t, ns: newNetns(t)}
	here, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatalf("netlink: %v", err)
	}
	t.Cleanup(here.Close)
	there, err := netlink.NewHandleAt(h.ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatalf("netlink in netns consumer: %v", err)
	}
	t.Cleanup(there.Close)
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "sgc0a"}, PeerName: "sgc0b", PeerNamespace: netlink.NsFd(int(h.ns))}
	if err := here.LinkAdd(veth); err != nil {
		t.Fatalf("add veth: %v", err)
	}
	t.Cleanup(func() { here.LinkDel(veth) })
	for side, nh := range []*netlink.Handle{here, there} {
		for _, name := range []string{"lo", []string{"sgc0a", "sgc0b"}[side]} {
			l, err := nh.LinkByName(name)
			if err != nil {
				t.Fatalf("link %s: %v", name, err)
			}
			if name != "lo" {
				if err := nh.AddrAdd(l, &netlink.Addr{IPNet: ipNet(consumerPath[side])}); err != nil {
					t.Fatalf("address %s: %v", name, err)
				}
			}
			if err := nh.LinkSetUp(l); err != nil {
				t.Fatalf("set up %s: %v", name, err)
			}
		}
	}
	return h
}

// startPeer starts a peer listening in the consumer's namespace.
func (h *consumerHost) startPeer(o sctpsock.Options, serve func(*sctpsock.Conn)) *peer {
	h.t.Helper()
	var ln *sctpsock.Listener
	var err error
	inNetns(h.t, h.ns, func() {
		ln, err = sctpsock.Listen([]netip.AddrPort{netip.AddrPortFrom(consumerPath[1].Addr(), 0)}, o)
	})
	if err != nil {
		h.t.Fatalf("listen in netns consumer: %v", err)
	}
	p := &peer{ln: ln, addr: ln.Addrs()[0]}
	go p.accept(serve)
	h.t.Cleanup(func() { ln.Close() })
	return p
}
