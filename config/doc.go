// Package config reads the sctpguard configuration file: it decodes the
// HCL, applies the documented defaults and validates the result, all
// before the first socket opens. Load reports every problem at once, each
// as "file:line:col: field: message" naming the bad value and what is
// allowed; a file with any problem yields no Config, never a partial one.
// WithHost adds the checks that depend on the host (see "Checks against the
// host" below).
//
// Typical use:
//
//	cfg, err := config.Load(config.DefaultPath, config.WithHost(config.ReadHost()))
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
//	                the same port 1..65535. Required unless transparent.
//	                None may be the
//	                relay's own: one of its listen addresses, or a
//	                loopback address on the port of a wildcard listen
//	                address that covers it (0.0.0.0 binds 127.0.0.0/8,
//	                [::] also ::1), or every association would be relayed
//	                back to the relay without end. Other local addresses
//	                a wildcard binds are not known to the check.
//	transparent     relay each association to the destination its
//	                application addressed before netfilter's DNAT sent it
//	                to listen (SO_ORIGINAL_DST); then no upstream, one
//	                listen address (not a wildcard, not loopback), and
//	                one_to_one. Default false. See docs/transparent.md.
//	mark            SO_MARK 1..0xffffffff (a number or "0x..." string) on
//	                a transparent relay's upstream sockets, so the ruleset
//	                can exempt them; needs CAP_NET_ADMIN, checked with
//	                WithHost. Default: none.
//	upstream_udp_port
//	                the upstream peer's UDP port for SCTP over UDP
//	                (RFC 6951), 1..65535; needs net.sctp.udp_port set,
//	                checked with WithHost. Default: plain SCTP.
//	front_udp       applications may come over SCTP over UDP: checks
//	                net.sctp.udp_port with WithHost. Default false.
//	streams         outbound streams requested on both legs, 1..65535.
//	                Default 16.
//	max_message     size of the largest message relayed, 1B..64MiB;
//	                a larger message aborts its association. Default
//	                "256KiB".
//	connect_timeout duration allowed for the connect to upstream.
//	                Default "5s".
//	max_connecting  associations accepted and not yet connected upstream
//	                (waiting for a connect or connecting), 1..65535; one
//	                more is aborted at once (too_many_connecting).
//	                Default 256.
//	stall_timeout   duration 1s..24h: an association whose consumer has
//	                not moved for that long while a message toward it
//	                waits for its full quota is aborted (stalled).
//	                Default: never.
//	nodelay         set SCTP_NODELAY on both legs. Default true.
//	listen_style    "one_to_one" or "one_to_many": the socket style of
//	                the front endpoint (RFC 6458). Default "one_to_one".
//	                See below; "one_to_many" needs quota.socket.
//
//	quota {
//	  association   size: the true cost (see cost) one association may
//	                hold in each direction. At least the true cost of one
//	                max_message at its worst, split at whichever
//	                fragmentation point costs most, from the IPv6
//	                minimum MTU of 1280 (chunks of 1212 bytes) to the
//	                loopback MTU of 65536 (65488), or the largest message
//	                could never be relayed: 260KiB for 64KiB, 892KiB for
//	                256KiB with the default cost block. Default "1MiB".
//	  socket        size: the true cost all associations of this relay's
//	                listener may hold together; at least association, and
//	                enough for one association to relay one max_message
//	                (see Reserves and headroom). Default 0: bounded only
//	                by the global quota.
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
//	                socket quota, and enough for one association of any
//	                relay to relay one max_message (see Reserves and
//	                headroom). Default "256MiB".
//
// # Reserves and headroom
//
// Every association reserves min(quota.association, 64KiB) in each direction
// from its relay's socket quota and the global quota when it opens, and keeps
// it until it ends; a message costing more than the reserve borrows the rest.
// A socket or global quota lends beyond reserves only up to seven eighths of
// itself: the last eighth is headroom that only reserves may take, so that
// new associations still open while floods have borrowed all they may. So,
// with R the reserve and C the true cost of one max_message at its worst,
// each of quota.socket (if set) and quota.global must be at least 2×R when
// C ≤ R, and, less its headroom (an eighth, rounded down), at least R + C
// when C > R: the reserve of the idle direction plus the message. Otherwise
// every association is refused when it opens, or its largest message waits
// for quota forever; check names the least quota that would do.
//
// # cost
//
//	header          size: what the kernel adds to a DATA chunk's payload
//	                before it rounds the chunk's buffer up to a power of
//	                two. Default "576B".
//	overhead        size: what the kernel holds per chunk beyond that
//	                buffer, 1B..1MiB. Default "1KiB": Linux 6.1 was
//	                measured to hold ~1.8 KB per 1-byte message. Run
//	                `sctpguard calibrate` to measure this host; it prints
//	                the block to put here (see quota.CostModel).
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
//
// # Checks against the host
//
// With WithHost, as `sctpguard check`, `run` and a reload use it, a file is
// also refused for what this host's kernel would refuse only once sockets
// are open. ReadHost reads what they need; the zero Host skips them.
//
//   - max_message above the send buffer: a relay asks SO_SNDBUF of half its
//     quota.association for the sockets of each association; without
//     CAP_NET_ADMIN Linux caps that at net.core.wmem_max, keeps twice what it
//     got, and refuses (EMSGSIZE) to send a longer message, which aborts the
//     message's association. So without CAP_NET_ADMIN, max_message must be
//     at most 2 × min(quota.association/2, net.core.wmem_max): 416KiB at
//     Linux's default wmem_max of 212992. ReadHost tells CAP_NET_ADMIN by
//     trying SO_SNDBUFFORCE, as the kernel decides it, so run check as the
//     daemon runs (systemd's ExecStartPre does).
package config
