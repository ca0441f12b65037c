// Package diag reads the kernel's own account of every SCTP socket and
// association on the host, through sock_diag (the interface behind
// `ss --sctp`), so sctpguard can check its accounting against the kernel and
// show, per association, what sctpguard holds next to what the kernel holds.
//
// Typical use, the kernel's receive and send queues of the sockets
// sctpguard owns:
//
//	entries, err := diag.Dump()
//	if err != nil { ... } // errors.Is(err, diag.ErrNoSCTPDiag): modprobe sctp_diag
//	byInode := diag.ByInode(entries)
//	ino, err := diag.InodeOf(conn) // conn is an *sctpsock.Conn
//	if a, ok := byInode[ino]; ok {
//		fmt.Println(a.RQueue, a.Mem.RmemAlloc, a.Info.PeerRwnd)
//	}
//
// # What the dump contains
//
// Measured on Linux 6.1 (see the tests in diag/kerneltest) and read from
// net/sctp/diag.c:
//
//   - A listening socket is one endpoint row, State LISTEN, with the accept
//     backlog and its limit in RQueue and WQueue.
//   - Every socket with associations, dialed or accepted alike, is one
//     endpoint row followed by one association row per association, all
//     carrying the socket's inode. A one-to-one socket has one association.
//     The accepted side is there like the dialing side.
//   - Association rows carry INET_DIAG_PEERS; endpoint rows do not. Their
//     State fields count differently: socket states in TCP numbering for
//     endpoints, association states (ESTABLISHED = 3) for associations.
//   - On an association row RQueue is the association's receive allocation
//     in true size (sk_buff and all: about 330 bytes per 100-byte message
//     on loopback), WQueue its send buffer use; Info.Rwnd is the window it
//     last advertised and Info.PeerRwnd the peer's window as it tracks it.
//     Both windows shrink by payload bytes only.
//   - A dialed socket's endpoint row lists its wildcard bound address
//     (0.0.0.0:port) in Locals; its association row lists the address in use.
//   - sctpi_fragmentation_point is never filled in by Linux; SCTPInfo.MaxSeg
//     holds the fragmentation point.
//
// The kernel sends association rows without NLM_F_MULTI in the middle of a
// multi-part dump, so a reader that stops at the first message without that
// flag, as github.com/vishvananda/netlink/nl's NetlinkRequest.Execute does,
// silently loses every row after the first association. Dump reads to
// NLMSG_DONE.
//
// Dump needs no privileges; it sees the sockets of the caller's network
// namespace. The kernel loads sctp_diag on demand where it is a module.
package diag
