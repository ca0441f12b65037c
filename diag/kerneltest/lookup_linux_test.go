package kerneltest

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/sctpguard/sctpguard/diag"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// TestLookupFindsEachSide: an exact lookup by addresses returns the same
// association row as the dump, for the dialing and the accepted side, with the
// bytes queued unread; an unknown pair is diag.ErrNotFound.
func TestLookupFindsEachSide(t *testing.T) {
	_, client, server := pair(t, sctpsock.Options{})
	for range 10 {
		if err := client.WriteMsg(sctpsock.Msg{Data: make([]byte, 100)}); err != nil {
			t.Fatal(err)
		}
	}
	waitAcked(t, inode(t, client))
	c, err := diag.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, side := range []struct {
		name string
		conn *sctpsock.Conn
	}{{"dialing", client}, {"accepted", server}} {
		local, peer := addrs(t, side.conn)
		e, err := c.Lookup(local, peer)
		if err != nil {
			t.Fatalf("%s side: %v", side.name, err)
		}
		_, want := rows(dump(t), inode(t, side.conn))
		if len(want) != 1 {
			t.Fatalf("%s side: %d association rows in the dump", side.name, len(want))
		}
		if e.Kind != diag.KindAssoc || e.Inode != want[0].Inode || e.RQueue != want[0].RQueue || e.Mem == nil {
			t.Errorf("%s side: lookup %+v, dump %+v", side.name, e, want[0])
		}
	}
	local, _ := addrs(t, server)
	if _, err := c.Lookup(local, netip.MustParseAddrPort("127.0.0.1:9")); !errors.Is(err, diag.ErrNotFound) {
		t.Errorf("lookup of no association: %v, want diag.ErrNotFound", err)
	}
}

func addrs(t *testing.T, c *sctpsock.Conn) (local, peer netip.AddrPort) {
	t.Helper()
	l, err := c.LocalAddrs()
	if err != nil || len(l) == 0 {
		t.Fatalf("local addresses: %v", err)
	}
	p, err := c.PeerAddrs()
	if err != nil || len(p) == 0 {
		t.Fatalf("peer addresses: %v", err)
	}
	return l[0], p[0]
}
