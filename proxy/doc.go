// Package proxy relays SCTP associations message by message.
//
// A Relay listens on the front addresses of one relay block. For every association an
// application opens there, it connects one association to the upstream peer and runs
// two pipes, one per direction. A pipe reads one whole message from its source (payload,
// stream, PPID and the unordered flag), charges its true cost to the association's
// quota account, writes it to the other leg and charges nothing more until the kernel
// has let the message go. When the account is full the pipe stops reading, so the
// producer's own send blocks: backpressure, never a drop.
//
// Shutdown is defined in one place (association.pipeEnded): a peer's SHUTDOWN reaches the
// other leg as SHUTDOWN after every message read before it has been written; an ABORT,
// a message on a stream the other leg lacks, a message over the relay's maximum or an
// unreachable upstream ends both legs with ABORT and one log line naming the cause.
//
// A relay with listen_style "one_to_many" holds every front association on one
// shared SOCK_SEQPACKET socket (sharedSocket): one goroutine reads it and queues each
// message in its association's leg (sharedLeg), within quota.association per
// association and quota.socket for the relay. In this package "shared" names that
// style throughout, and "one-to-one" the other (oneToOneFront, connLeg). The relay
// sees either front through the frontSocket interface, and pipes and associations
// either kind of leg through the leg interface: nothing branches on which it is.
//
// The tunables (buffer sizes, waits, bounds) are in tunables.go, each with why it
// has its value; the names users see (end and drop reasons, states, directions)
// are package admin's vocabulary.
//
// Typical use, from the daemon:
//
//	srv := proxy.NewServer(cfg, logger)
//	if err := srv.Listen(); err != nil { ... }  // every listener, before serving
//	err := srv.Serve(ctx)                        // until ctx ends, then drain
package proxy
