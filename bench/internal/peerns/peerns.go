// Package peerns gives a benchmark a consumer somewhere else: a network
// namespace of its own, joined to the benchmark's by a veth, as a container
// is. A receiver there is reached over a real link (MTU 1500, not
// loopback's 64 KiB), and its socket is invisible to a relay in the
// benchmark's namespace, which sees only its receive window:
//
//	 the bench's netns (senders, relay)           netns of the Host
//	┌───────────────────────────────┐           ┌──────────────────────┐
//	│ senders ──lo── relay          │           │        receiver      │
//	│          Addrs[0] [Names[0]] ═╪═══ veth ══╪═ [Names[1]] Addrs[1] │
//	└───────────────────────────────┘           └──────────────────────┘
package peerns

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Link names the veth's two ends and their addresses: [0] in the caller's
// namespace, [1] in the Host's. Two benchmarks running at once need two
// Links.
type Link struct {
	Names [2]string
	Addrs [2]netip.Prefix
}

// Host is the namespace and the veth to it.
type Host struct {
	link Link
	ns   netns.NsHandle
	veth netlink.Link
}

// New makes the namespace and the veth; Close removes both.
func New(l Link) (*Host, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("peer netns: %w", err)
	}
	defer orig.Close()
	ns, err := netns.New()
	if err != nil {
		return nil, fmt.Errorf("peer netns: %w", err)
	}
	if err := netns.Set(orig); err != nil {
		ns.Close()
		return nil, fmt.Errorf("peer netns: back to the caller's: %w", err)
	}
	h := &Host{link: l, ns: ns}
	if err := h.connect(); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// Addr is the Host's address on the veth.
func (h *Host) Addr() netip.Addr { return h.link.Addrs[1].Addr() }

// connect adds the veth pair, its addresses, and brings both ends and the
// namespace's loopback up.
func (h *Host) connect() error {
	here, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink: %w", err)
	}
	defer here.Close()
	there, err := netlink.NewHandleAt(h.ns, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink in the peer netns: %w", err)
	}
	defer there.Close()
	h.veth = &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: h.link.Names[0]}, PeerName: h.link.Names[1], PeerNamespace: netlink.NsFd(int(h.ns))}
	if err := here.LinkAdd(h.veth); err != nil {
		return fmt.Errorf("add veth %s: %w", h.link.Names[0], err)
	}
	for side, nh := range []*netlink.Handle{here, there} {
		for _, name := range []string{"lo", h.link.Names[side]} {
			if err := h.up(nh, name, side); err != nil {
				return err
			}
		}
	}
	return nil
}

// up gives link name on side its address (but lo) and brings it up.
func (h *Host) up(nh *netlink.Handle, name string, side int) error {
	l, err := nh.LinkByName(name)
	if err != nil {
		return fmt.Errorf("link %s: %w", name, err)
	}
	if name != "lo" {
		p := h.link.Addrs[side]
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), 32)}}
		if err := nh.AddrAdd(l, addr); err != nil {
			return fmt.Errorf("address %s: %w", name, err)
		}
	}
	if err := nh.LinkSetUp(l); err != nil {
		return fmt.Errorf("set up %s: %w", name, err)
	}
	return nil
}

// In runs f with the calling thread in the Host's namespace: sockets f
// opens stay there.
func (h *Host) In(f func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return err
	}
	defer orig.Close()
	if err := netns.Set(h.ns); err != nil {
		return err
	}
	ferr := f()
	if err := netns.Set(orig); err != nil {
		panic(fmt.Sprintf("peerns: cannot leave the peer netns: %v", err)) // the thread would stay there
	}
	return ferr
}

// Close removes the veth and lets the namespace go.
func (h *Host) Close() {
	if h.veth != nil {
		netlink.LinkDel(h.veth)
	}
	h.ns.Close()
}
