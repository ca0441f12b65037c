package kerneltest

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/diag"
	"github.com/sctpguard/sctpguard/sctpsock"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// pair opens a listener on loopback, a client association to it and the
// accepted side; all are closed when the test ends.
func pair(t *testing.T, o sctpsock.Options) (l *sctpsock.Listener, client, server *sctpsock.Conn) {
	t.Helper()
	l, err := sctpsock.Listen([]netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	accepted := make(chan *sctpsock.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err = sctpsock.Dial(ctx, nil, l.Addrs(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	if server = <-accepted; server == nil {
		t.FailNow()
	}
	t.Cleanup(func() { server.Close() })
	return l, client, server
}

func inode(t *testing.T, c *sctpsock.Conn) uint32 {
	t.Helper()
	ino, err := diag.InodeOf(c)
	if err != nil {
		t.Fatal(err)
	}
	return ino
}

// rows returns the endpoint and association rows of one socket.
func rows(entries []diag.Entry, ino uint32) (ep, assoc []diag.Entry) {
	for _, e := range entries {
		switch {
		case e.Inode != ino:
		case e.Kind == diag.KindAssoc:
			assoc = append(assoc, e)
		default:
			ep = append(ep, e)
		}
	}
	return ep, assoc
}

func dump(t *testing.T) []diag.Entry {
	t.Helper()
	entries, err := diag.Dump()
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// TestDumpShowsBothSides establishes what the kernel reports for a listener,
// the dialing side and the accepted side of one association, before and after
// the dialer sends messages the acceptor does not read.
//
// Both sides appear, each as one endpoint row and one association row with the
// socket's inode (the brief's earlier probe missed the accepted side because
// it read the dump with nl.NetlinkRequest.Execute; see
// TestExecuteStopsAtFirstAssociation).
func TestDumpShowsBothSides(t *testing.T) {
	const n, size = 100, 100
	l, client, server := pair(t, sctpsock.Options{NoDelay: true})
	ci, si := inode(t, client), inode(t, server)
	before := diag.ByInode(dump(t))
	for range n {
		if err := client.WriteMsg(sctpsock.Msg{Data: make([]byte, size)}); err != nil {
			t.Fatal(err)
		}
	}
	entries := waitAcked(t, ci)

	lis := listenerRow(t, entries, l.Addrs()[0])
	t.Logf("listener: inode %d backlog %d/%d", lis.Inode, lis.RQueue, lis.WQueue)
	for _, side := range []struct {
		name string
		ino  uint32
		peer netip.AddrPort
	}{{"dialer", ci, l.Addrs()[0]}, {"acceptor", si, netip.AddrPort{}}} {
		ep, assoc := rows(entries, side.ino)
		if len(ep) != 1 || len(assoc) != 1 {
			t.Fatalf("%s (inode %d): %d endpoint and %d association rows, want 1 and 1", side.name, side.ino, len(ep), len(assoc))
		}
		a := assoc[0]
		if a.StateName() != "ESTABLISHED" || a.Mem == nil || a.Info == nil || len(a.Peers) != 1 {
			t.Fatalf("%s association row: %+v", side.name, a)
		}
		if side.peer.IsValid() && a.Dst != side.peer {
			t.Errorf("%s: peer %v, want %v", side.name, a.Dst, side.peer)
		}
	}
	_, ca := rows(entries, ci)
	_, sa := rows(entries, si)
	checkSender(t, before[ci], ca[0], n*size)
	checkReceiver(t, before[si], sa[0], n, n*size)
	if sa[0].Dst != ca[0].Src || sa[0].Src != ca[0].Dst {
		t.Errorf("acceptor %v->%v does not mirror dialer %v->%v", sa[0].Src, sa[0].Dst, ca[0].Src, ca[0].Dst)
	}
}

// waitAcked dumps until the dialer has no unacknowledged data.
func waitAcked(t *testing.T, ino uint32) []diag.Entry {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		entries := dump(t)
		if a, ok := diag.ByInode(entries)[ino]; ok && a.Info.Unacked == 0 && a.WQueue == 0 {
			return entries
		}
		if time.Now().After(deadline) {
			t.Fatal("dialer's data still unacknowledged after 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func listenerRow(t *testing.T, entries []diag.Entry, addr netip.AddrPort) diag.Entry {
	t.Helper()
	for _, e := range entries {
		if e.Kind == diag.KindEndpoint && e.StateName() == "LISTEN" && e.Src == addr {
			if e.WQueue == 0 || len(e.Peers) != 0 {
				t.Errorf("listener row: %+v", e)
			}
			return e
		}
	}
	t.Fatalf("no LISTEN row for %v", addr)
	return diag.Entry{}
}

// checkSender: the dialer sees the peer's window shrink by the payload sent,
// and nothing of the overhead.
func checkSender(t *testing.T, before, after diag.Entry, payload int) {
	t.Helper()
	shrunk := int(before.Info.PeerRwnd) - int(after.Info.PeerRwnd)
	t.Logf("dialer: peer rwnd %d -> %d (-%d for %d payload bytes), wmem_alloc %d, sndbuf %d",
		before.Info.PeerRwnd, after.Info.PeerRwnd, shrunk, payload, after.Mem.WmemAlloc, after.Mem.SndBuf)
	if shrunk != payload {
		t.Errorf("peer rwnd shrank by %d, want exactly the payload %d", shrunk, payload)
	}
	if after.Info.OutOrderedChunks < before.Info.OutOrderedChunks+uint64(payload/100) {
		t.Errorf("ordered DATA chunks sent %d -> %d", before.Info.OutOrderedChunks, after.Info.OutOrderedChunks)
	}
}

// checkReceiver: the acceptor's queue holds every message at its true size,
// which is several times the payload, and its advertised window shrank by
// the payload only.
func checkReceiver(t *testing.T, before, after diag.Entry, msgs, payload int) {
	t.Helper()
	per := float64(after.RQueue-before.RQueue) / float64(msgs)
	t.Logf("acceptor: rqueue %d -> %d (%.0f bytes per %d-byte message), rmem_alloc %d, rcvbuf %d, rwnd %d -> %d",
		before.RQueue, after.RQueue, per, payload/msgs, after.Mem.RmemAlloc, after.Mem.RcvBuf, before.Info.Rwnd, after.Info.Rwnd)
	if after.RQueue < before.RQueue+uint32(payload) {
		t.Errorf("rqueue grew %d -> %d, want at least the %d payload bytes", before.RQueue, after.RQueue, payload)
	}
	if per > 4096 {
		t.Errorf("%.0f bytes held per message: implausible", per)
	}
	if after.Mem.RmemAlloc < after.RQueue || after.Mem.RmemAlloc > after.Mem.RcvBuf {
		t.Errorf("rmem_alloc %d, want between rqueue %d and rcvbuf %d", after.Mem.RmemAlloc, after.RQueue, after.Mem.RcvBuf)
	}
	if int(before.Info.Rwnd)-int(after.Info.Rwnd) != payload {
		t.Errorf("advertised rwnd %d -> %d, want it %d smaller", before.Info.Rwnd, after.Info.Rwnd, payload)
	}
	if after.Info.InOrderedChunks-before.Info.InOrderedChunks != uint64(msgs) {
		t.Errorf("ordered DATA chunks received %d -> %d, want +%d", before.Info.InOrderedChunks, after.Info.InOrderedChunks, msgs)
	}
}

// TestDumpManyAssociations checks that a dump spanning many netlink reads
// loses no row: every socket of 40 pairs has its endpoint and association
// row.
func TestDumpManyAssociations(t *testing.T) {
	var inodes []uint32
	for range 40 {
		_, c, s := pair(t, sctpsock.Options{})
		inodes = append(inodes, inode(t, c), inode(t, s))
	}
	entries := dump(t)
	for _, ino := range inodes {
		if ep, assoc := rows(entries, ino); len(ep) != 1 || len(assoc) != 1 {
			t.Errorf("inode %d: %d endpoint and %d association rows, want 1 and 1", ino, len(ep), len(assoc))
		}
	}
}

// TestExecuteStopsAtFirstAssociation documents why a dump must read to
// NLMSG_DONE: the kernel sends association rows without NLM_F_MULTI, and
// nl.NetlinkRequest.Execute stops at the first such message, so it returns
// only the rows up to the first association and loses the rest, typically
// one side of every pair.
func TestExecuteStopsAtFirstAssociation(t *testing.T) {
	pair(t, sctpsock.Options{})
	req := nl.NewNetlinkRequest(nl.SOCK_DIAG_BY_FAMILY, unix.NLM_F_DUMP)
	req.AddRawData(dumpRequest(unix.AF_INET))
	msgs, err := req.Execute(unix.NETLINK_SOCK_DIAG, nl.SOCK_DIAG_BY_FAMILY)
	if err != nil {
		t.Fatal(err)
	}
	last, err := isAssocRow(msgs[len(msgs)-1])
	if err != nil {
		t.Fatal(err)
	}
	all := dump(t)
	t.Logf("Execute: %d rows, the last an association row: %t; Dump: %d rows", len(msgs), last, len(all))
	if !last || len(msgs) >= len(all) {
		t.Errorf("Execute returned %d rows, the last an association row: %t; Dump %d", len(msgs), last, len(all))
	}
}

// dumpRequest is the struct inet_diag_req_v2 diag.Dump sends for family fam:
// every SCTP socket in every state, with struct sctp_info and the memory
// counters, and no cookie (linux/inet_diag.h). It is spelled out here because
// this package sees only diag's exported API.
func dumpRequest(fam uint8) []byte {
	const (
		sizeofReq        = 56
		extInfo          = 1 << (2 - 1) // INET_DIAG_INFO
		extSkMemInfo     = 1 << (7 - 1) // INET_DIAG_SKMEMINFO
		allStates        = 0xffffffff
		inetDiagNoCookie = 0xffffffff
	)
	b := make([]byte, sizeofReq)
	b[0], b[1], b[2] = fam, unix.IPPROTO_SCTP, extInfo|extSkMemInfo
	binary.NativeEndian.PutUint32(b[4:], allStates)
	binary.NativeEndian.PutUint32(b[48:], inetDiagNoCookie)
	binary.NativeEndian.PutUint32(b[52:], inetDiagNoCookie)
	return b
}

// isAssocRow reports whether b, a SOCK_DIAG_BY_FAMILY reply (struct
// inet_diag_msg and its attributes), is an association row: the kernel sends
// INET_DIAG_PEERS on association rows only.
func isAssocRow(b []byte) (bool, error) {
	const (
		sizeofDiagMsg = 72
		attrPeers     = 13     // INET_DIAG_PEERS
		attrTypeMask  = 0x3fff // clears NLA_F_NESTED and NLA_F_NET_BYTEORDER
	)
	if len(b) < sizeofDiagMsg {
		return false, fmt.Errorf("inet_diag_msg: length %d < %d", len(b), sizeofDiagMsg)
	}
	attrs, err := nl.ParseRouteAttr(b[sizeofDiagMsg:])
	if err != nil {
		return false, fmt.Errorf("inet_diag_msg attributes: %w", err)
	}
	for _, a := range attrs {
		if a.Attr.Type&attrTypeMask == attrPeers {
			return true, nil
		}
	}
	return false, nil
}
