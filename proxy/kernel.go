package proxy

import (
	"net/netip"

	"github.com/sctpguard/sctpguard/diag"
	"github.com/sctpguard/sctpguard/gate"
)

// kernelView asks the kernel, through sock_diag, what it holds for each leg of an
// association: one exact lookup per leg, so that a status costs the same per
// association at 10 associations as at 10,000 (a full dump does not).
type kernelView struct {
	c *diag.Conn // nil when sock_diag is not available: status then shows -1
}

func openKernelView() *kernelView {
	c, err := diag.Open()
	if err != nil {
		return &kernelView{}
	}
	return &kernelView{c: c}
}

func (k *kernelView) close() {
	if k.c != nil {
		k.c.Close()
	}
}

// legs returns the kernel's rows for both legs of a.
func (k *kernelView) legs(a *association) (front, up diag.Entry, ok bool) {
	if k.c == nil {
		return front, up, false
	}
	front, ferr := k.lookup(a.frontEnds)
	up, uerr := k.lookup(a.upEnds)
	return front, up, ferr == nil && uerr == nil
}

func (k *kernelView) lookup(ends legEnds) (diag.Entry, error) {
	if !ends.local.IsValid() || !ends.peer.IsValid() {
		return diag.Entry{}, diag.ErrNotFound
	}
	return k.c.Lookup(ends.local, ends.peer)
}

// legEnds are a leg's first local and primary peer address, which name its
// association to sock_diag.
type legEnds struct {
	local, peer netip.AddrPort
}

// assocEnds are the addresses that name c's association to sock_diag; invalid
// where c cannot tell them.
func assocEnds(c leg) legEnds {
	var e legEnds
	if l, err := c.LocalAddrs(); err == nil && len(l) > 0 {
		e.local = l[0]
	}
	if p, err := c.PeerAddrs(); err == nil && len(p) > 0 {
		e.peer = p[0]
	}
	return e
}

// consumer is what a pipe's gate samples: the association the pipe writes to.
type consumer struct{ dst leg }

// Sample reads the consumer's window as dst's kernel knows it and what dst's
// kernel holds of what was written.
func (c consumer) Sample() (gate.Sample, error) {
	st, err := c.dst.Status()
	if err != nil {
		return gate.Sample{}, err
	}
	q, err := c.dst.SendQueued()
	if err != nil {
		return gate.Sample{}, err
	}
	return gate.Sample{PeerRwnd: st.PeerRwnd, SendQueued: int64(q)}, nil
}
