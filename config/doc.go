// Package config reads the sctpguard configuration file: it decodes the
// HCL, applies the documented defaults and validates the result, all
// before the first socket opens. Load reports every problem at once, each
// as "file:line:col: field: message" naming the bad value and what is
// allowed; a file with any problem yields no Config, never a partial one.
//
// Typical use:
//
//	cfg, err := config.Load(config.DefaultPath)
//	var cerr *config.Error
//	if errors.As(err, &cerr) {
//		cerr.WriteTo(os.Stderr) // one line per problem
//		os.Exit(1)
//	}
//
// # The file
//
// The file is HCL native syntax, by default /etc/sctpguard/sctpguard.hcl.
// Expressions may use literals and arithmetic only: no variables or
// functions. An attribute set to null counts as left out. Unknown blocks
// and attributes are errors (with a suggestion where one is close).
//
//	relay "diameter" {
//	  listen   = ["127.0.0.1:3868"]
//	  upstream = ["192.0.2.10:3868", "198.51.100.10:3868"]
//	  quota {
//	    association = "1MiB"
//	  }
//	}
//	quota {
//	  global = "256MiB"
//	}
//	admin {
//	  socket = "/run/sctpguard/admin.sock"
//	}
//
// Values:
//
//   - A size is a number of bytes (4096) or a string of a number and a
//     binary unit: "100B", "512KiB", "1MiB", "1.5GiB". Units are B, KiB,
//     MiB and GiB, case-sensitive. Decimal units (KB, MB, GB) are refused
//     rather than guessed: a memory budget should not be 5% off because
//     KB meant 1000 to the writer and 1024 to the reader. A fraction is
//     allowed only if it comes to a whole number of bytes. Negative sizes
//     are refused.
//   - A duration is a Go duration string: "500ms", "5s", "1m30s". It must
//     be positive.
//   - An address is a string "ip:port" such as "192.0.2.10:3868" or
//     "[2001:db8::10]:3868". Host names are not resolved.
//
// # relay "NAME" (one or more)
//
// A relay is one front endpoint that applications connect to instead of
// their peer, and the one peer endpoint every accepted association is
// relayed to. NAME labels metrics, log lines and status rows; it is
// unique and 1 to 63 letters, digits, '-', '_' or '.', starting with a
// letter or digit.
//
//	listen          addresses of the front endpoint: one, or several
//	                for a multi-homed endpoint, all on the same port
//	                (0 picks one). Required. No two relays may listen on
//	                the same address and port; 0.0.0.0 overlaps every
//	                IPv4 address and [::] every address.
//	upstream        addresses of the peer endpoint: one or more, all on
//	                the same port 1..65535. Required.
//	streams         outbound streams requested on both legs, 1..65535.
//	                Default 16.
//	max_message     size of the largest message relayed, 1B..64MiB;
//	                a larger message aborts its association. Default
//	                "256KiB".
//	connect_timeout duration allowed for the connect to upstream.
//	                Default "5s".
//	nodelay         set SCTP_NODELAY on both legs. Default true.
//	listen_style    "one_to_one" or "one_to_many": the socket style of
//	                the front endpoint (RFC 6458). Default "one_to_one".
//	                See below; "one_to_many" needs quota.socket.
//
//	quota {
//	  association   size: the true cost (payload plus cost.overhead per
//	                message) one association may hold in each direction.
//	                At least max_message + cost.overhead, or the largest
//	                message could never be relayed. Default "1MiB".
//	  socket        size: the true cost all associations of this relay's
//	                listener may hold together; at least association.
//	                Default 0: bounded only by the global quota.
//	}
//
//	path {
//	  heartbeat_interval   duration between heartbeats on an idle path,
//	                       1ms..24h (SCTP_PEER_ADDR_PARAMS).
//	  max_retransmissions  consecutive retransmissions that make a path
//	                       inactive, 1..65535.
//	  rto_initial          the first retransmission timeout, 1ms..24h
//	                       (SCTP_RTOINFO).
//	  rto_min, rto_max     bounds of the retransmission timeout, 1ms..24h;
//	                       rto_min <= rto_initial <= rto_max, where one
//	                       left out counts at Linux's default (1s, 3s, 60s).
//	  primary              "ip:port", one of upstream: the primary path of
//	                       every upstream association (SCTP_PRIMARY_ADDR),
//	                       where new data goes while it is usable. Left
//	                       out, the kernel's choice. Status marks it.
//	}
//
// The path block tunes how fast a dead path is noticed, on both legs of
// every association of the relay: a multi-homed association (several
// listen or upstream addresses) moves its traffic to another path about
// one RTO after a path stops answering, marks the path unreachable after
// max_retransmissions more timeouts, and uses it again once a heartbeat to
// it is answered. With Linux's defaults that takes seconds to minutes. In
// the integration test on veth (TestFailover), heartbeat_interval =
// "200ms", max_retransmissions = 2, rto_initial = "200ms", rto_min =
// "100ms", rto_max = "400ms" stopped deliveries for at most half a second
// when the primary path went down, declared it unreachable after about
// 1.3s and used it again within about half a second of its return. An
// rto_min near the path's round trip, or below the peer's delayed-SACK
// timer (200ms on Linux), costs spurious retransmissions. Durations are
// whole milliseconds. Every setting left out keeps the kernel's default
// (net.sctp.*). The first upstream address is the primary path.
// Associations keep the settings they started with across a reload.
//
// listen_style "one_to_one" gives every front association a socket of its
// own. "one_to_many" holds all of them on one SOCK_SEQPACKET socket, the
// style SIGTRAN and Diameter stacks use, read by one goroutine that hands
// each message to its association. The trade-off: the associations share one
// receive queue, delivered in arrival order, so sctpguard cannot stop reading
// one of them without stopping all. It holds what it has read for an
// association whose upstream is slow in a queue bounded by quota.association
// (on top of what that association's pipe holds, so up to twice its quota),
// and everything the relay holds, queues included, by quota.socket; when
// either bound is reached it stops reading the socket and every front
// association of the relay waits (their senders block) until the slow one
// moves. quota.socket also sizes the shared socket's kernel buffers: with
// net.sctp.rcvbuf_policy and sndbuf_policy 0 (Linux's default) every
// association shares SO_RCVBUF and SO_SNDBUF, set to a quarter and a half of
// quota.socket (the kernel doubles them); at 1 each association gets buffers
// of that size of its own, so sctpguard sizes them from quota.association
// instead, as for a one-to-one socket. Changing listen_style takes a restart.
//
// # quota
//
//	global          size: the true cost all relays together may hold on
//	                the host; at least every relay's association and
//	                socket quota. Default "256MiB".
//
// # cost
//
//	overhead        size: what the kernel holds per message on top of its
//	                payload, 1B..1MiB. Default "2KiB": Linux 6.1 was
//	                measured to hold ~1.8 KB per 1-byte message. Run
//	                `sctpguard calibrate` to measure this host; it prints
//	                the line to put here.
//
// # admin
//
// The Unix socket `sctpguard status` and live tuning talk to.
//
//	socket          absolute path, at most 107 bytes. Default
//	                "/run/sctpguard/admin.sock".
//	mode            permission bits as an octal string, 0600 to 0770:
//	                the owner reads and writes, others get nothing (any
//	                local user could otherwise change quotas). Default
//	                "0600". A string, because HCL reads 0660 as decimal.
//	group           group name or id given to the socket, for a mode such
//	                as "0660". Default: left alone.
//
// # metrics
//
//	listen          "host:port" to serve Prometheus metrics on, such as
//	                "127.0.0.1:9368". Default "": not served.
//
// # log
//
//	level           trace, debug, info, warn or error. Default "info".
//	format          text or json. Default "text".
//
// # shutdown
//
//	drain_timeout   duration a stopping daemon lets associations finish
//	                relaying what they hold before it aborts them.
//	                Default "10s".
//
// The quota, cost, admin, metrics, log and shutdown blocks, and a relay's
// quota and path blocks, may each appear at most once; all are optional.
package config
