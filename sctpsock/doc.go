// Package sctpsock is sctpguard's SCTP socket layer: one-to-one style
// (SOCK_STREAM) SCTP sockets parked on Go's runtime poller, read and written
// one whole message at a time with stream id, payload protocol identifier
// (PPID) and the unordered flag intact.
//
// A blocked Accept, ReadMsg or WriteMsg costs a parked goroutine, not an OS
// thread: thousands of idle associations need a handful of threads.
//
// Typical use, a listener that echoes every message back:
//
//	l, err := sctpsock.Listen([]netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:3868")}, sctpsock.Options{})
//	if err != nil { ... }
//	defer l.Close()
//	c, err := l.Accept()
//	if err != nil { ... }
//	defer c.Close()
//	buf := make([]byte, 64<<10)
//	for {
//		m, err := c.ReadMsg(buf)
//		if err != nil { ... } // io.EOF after the peer's SHUTDOWN, ErrAborted after its ABORT
//		if m.Notification != nil {
//			continue // an event such as COMM_UP, never data
//		}
//		if err := c.WriteMsg(m); err != nil { ... }
//		buf = m.Data[:cap(m.Data)] // keep a buffer ReadMsg had to grow
//	}
//
// and a client:
//
//	c, err := sctpsock.Dial(ctx, nil, []netip.AddrPort{netip.MustParseAddrPort("192.0.2.10:3868")}, sctpsock.Options{NoDelay: true})
//	if err != nil { ... } // says why: refused, no answer to INIT within 5s, unreachable
//	err = c.WriteMsg(sctpsock.Msg{Data: req, Stream: 0, PPID: 46})
//
// Multi-homing: Listen binds every given address (sctp_bindx) and Dial hands
// every remote address to the kernel at once (sctp_connectx); the first is
// the primary path. Options.Path tunes heartbeats and retransmission timeouts
// (SCTP_PEER_ADDR_PARAMS, SCTP_RTOINFO), which decide how fast the kernel
// moves to another path when one fails; Conn.Paths reports each path's state,
// and SCTP_PEER_ADDR_CHANGE notifications arrive as PeerAddrChange.
//
// # One-to-many sockets
//
// Many is a one-to-many style (SOCK_SEQPACKET) socket: one local endpoint
// holding associations to several peer endpoints, the style SIGTRAN and
// Diameter stacks use. Connect returns the new association's id at once
// (SCTP_SOCKOPT_CONNECTX3) and the association is up when COMM_UP for that id
// is read; every message and notification read carries its association's id
// (Msg.AssocID, from SCTP_RCVINFO or the notification); WriteMsg, Shutdown
// (SCTP_EOF) and Abort (SCTP_ABORT) name one association in SCTP_SNDINFO, and
// Status, Paths and SetPathOptions take an id. One goroutine reads and hands
// each message on by id:
//
//	m, err := sctpsock.OpenMany([]netip.AddrPort{netip.MustParseAddrPort("10.0.0.1:2905")}, sctpsock.Options{})
//	id, err := m.Connect(peerA) // register id before the reader can see COMM_UP
//	for {
//		msg, err := m.ReadMsg(buf)
//		... route msg by msg.AssocID ...
//	}
//
// SCTP allows one association between two endpoints: a Many holds at most one
// association per peer endpoint (Connect to the same one fails with
// ErrAssocExists, EISCONN), so it multiplexes associations to different peers,
// not several associations to one peer. All associations share one receive
// queue, read in arrival order: a reader that stops for one stops them all.
// With net.sctp.sndbuf_policy and rcvbuf_policy at 0 (the default) they also
// share SO_SNDBUF and SO_RCVBUF; at 1 each association has buffers of that
// size of its own.
//
// # Ending
//
// Close ends an association gracefully, Abort with ABORT. A process that dies
// without closing gets Close's graceful end from the kernel, which tells the
// peer that everything it sent was taken care of; Options.AbortOnExit makes it
// an ABORT. When the process is out of file descriptors, Listener.Accept
// aborts the association it cannot take rather than leave it in the backlog,
// where the peer would take it for established.
//
// # Large messages
//
// Every socket sets SCTP_PARTIAL_DELIVERY_POINT to a quarter of its receive
// buffer: without it Linux never delivers a message larger than the receive
// window (the association stalls), with it the kernel hands such a message
// over in pieces, which ReadMsg joins up to MSG_EOR. A Many sets
// SCTP_FRAGMENT_INTERLEAVE as well, so that one association's message in
// pieces does not hold back the others: its reads never wait in the middle of a
// message, and put the pieces together per association (Assembler); a reader
// that charges what messages under way hold reads pieces (ReadPiece) and
// assembles them itself. On the sending side
// Linux refuses (EMSGSIZE) a message larger than the socket's send buffer;
// WriteMsg's error then names the buffer size.
//
// # Relation to github.com/ishidawataru/sctp
//
// This package uses from ishidawataru/sctp what it gets right: the socket
// option numbers, the packing of address lists for sctp_bindx and
// sctp_connectx (SCTPAddr.ToRawSockAddrBuf), and the memory layouts of
// struct sctp_initmsg, struct sctp_status (with its packed sctp_paddrinfo)
// and struct sctp_getaddrs_old, checked against the kernel's
// include/uapi/linux/sctp.h in a test. It does not use that package's
// connections or listeners: they block an OS thread in every read, write and
// accept, its read drops MSG_EOR (so messages larger than the buffer are
// silently split), its SCTP_EOF constant is 1<<4 where Linux uses MSG_FIN,
// PeelOff declares the wrong argument layout, and its StatusState and
// PeerState constants do not match Linux's sstat_state and spinfo_state
// numbering. Its SCTPBind and SCTPConnect pass a Go slice to the kernel
// as a bare uintptr without keeping it alive, so the setsockopt and
// getsockopt calls are made here instead.
package sctpsock
