package main

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Where a row's receiver is. In sctpguard's network namespace its receive queue
// is visible to sctpguard (/proc/net/sctp/assocs); in another one, joined by a
// veth as a container is, only its receive window is:
//
//	 the bench's netns (senders, relay)          netns seed-receiver
//	┌───────────────────────────────┐           ┌──────────────────────┐
//	│ senders ──lo── relay          │           │        receiver      │
//	│           10.9.0.1 [sgseed0] ═╪═══ veth ══╪═ [sgseed1] 10.9.0.2  │
//	└───────────────────────────────┘           └──────────────────────┘
const (
	sameNetns  = "same"
	otherNetns = "other"
)

var vethAddrs = [2]netip.Prefix{netip.MustParsePrefix("10.9.0.1/24"), netip.MustParsePrefix("10.9.0.2/24")}

// netnsHost is the receiver's namespace and the veth to it.
type netnsHost struct {
	ns   netns.NsHandle
	veth netlink.Link
}

// newNetnsHost makes the namespace and the veth; close removes both.
func newNetnsHost() (*netnsHost, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("receiver netns: %w", err)
	}
	defer orig.Close()
	ns, err := netns.New()
	if err != nil {
		return nil, fmt.Errorf("receiver netns: %w", err)
	}
	if err := netns.Set(orig); err != nil {
		ns.Close()
		return nil, fmt.Errorf("receiver netns: back to the bench's: %w", err)
	}
	h := &netnsHost{ns: ns}
	if err := h.link(); err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

// link adds the veth pair, its addresses, and brings both ends and the
// namespace's loopback up.
func (h *netnsHost) link() error {
	here, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink: %w", err)
	}
	defer here.Close()
	there, err := netlink.NewHandleAt(h.ns, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink in the receiver's netns: %w", err)
	}
	defer there.Close()
	h.veth = &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "sgseed0"}, PeerName: "sgseed1", PeerNamespace: netlink.NsFd(int(h.ns))}
	if err := here.LinkAdd(h.veth); err != nil {
		return fmt.Errorf("add veth: %w", err)
	}
	for side, nh := range []*netlink.Handle{here, there} {
		for _, name := range []string{"lo", []string{"sgseed0", "sgseed1"}[side]} {
			l, err := nh.LinkByName(name)
			if err != nil {
				return fmt.Errorf("link %s: %w", name, err)
			}
			if name != "lo" {
				p := vethAddrs[side]
				addr := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), 32)}}
				if err := nh.AddrAdd(l, addr); err != nil {
					return fmt.Errorf("address %s: %w", name, err)
				}
			}
			if err := nh.LinkSetUp(l); err != nil {
				return fmt.Errorf("set up %s: %w", name, err)
			}
		}
	}
	return nil
}

// in runs f with the calling thread in the receiver's namespace: sockets f opens
// stay there.
func (h *netnsHost) in(f func() error) error {
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
		panic(fmt.Sprintf("seed: cannot leave the receiver's netns: %v", err)) // the thread would stay there
	}
	return ferr
}

func (h *netnsHost) close() {
	if h.veth != nil {
		netlink.LinkDel(h.veth)
	}
	h.ns.Close()
}
