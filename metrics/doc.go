// Package metrics serves the daemon's Prometheus metrics.
//
// Each scrape reads one summary (Source: an admin.Status without its
// associations), which the daemon builds from the counters its relays keep
// as they work: it asks the kernel nothing and does no work per
// association, so a scrape costs the same at ten associations as at ten
// thousand. The samples are constant; between scrapes the package does no
// work. The
// metrics live in a private registry with the Go runtime (go_*) and process
// (process_*) collectors; nothing is registered globally.
//
// The endpoint is plain HTTP on the address of metrics.listen in the
// configuration; there is no endpoint unless it is set:
//
//	metrics {
//	  listen = "127.0.0.1:9368"
//	}
//
// GET /metrics answers in the Prometheus text format (or protobuf, if the
// scraper asks for it); every other path is a 404 that names /metrics.
// The endpoint has no authentication: bind it to loopback or a management
// network.
//
// # Metrics
//
// Labels come only from relay names in the configuration and fixed sets of
// values, never from addresses or association ids (see `sctpguard status`
// for those), so the number of series depends on the number of relays,
// not on traffic. Every relay has every per-relay series below, 0 when
// nothing happened. Counters start at zero when the daemon starts.
//
//	sctpguard_relayed_messages_total{relay, direction}   counter
//	sctpguard_relayed_bytes_total{relay, direction}      counter
//	    Messages and payload bytes relayed. direction is to_upstream (from
//	    the application to the peer) or to_front (the way back).
//
//	sctpguard_associations{relay, state}                 gauge
//	    Relayed associations held now. state is established (both legs
//	    relay), ending (being shut down, aborted or drained) or other
//	    (always 0 in this version, kept so the series stay the same set).
//
//	sctpguard_associations_accepted_total{relay}         counter
//	sctpguard_associations_refused_total{relay}          counter
//	    Front associations accepted, and those aborted before relaying
//	    (upstream unreachable, quota exhausted, too many connecting).
//
//	sctpguard_associations_ended_total{relay, reason}    counter
//	    Associations ended, by reason: shutdown, peer_abort,
//	    stream_missing, too_large, upstream_unreachable, io_error, drain,
//	    quota_exhausted, bad_notification, stalled, too_many_connecting,
//	    or other (a reason this version of the package does not know).
//	    The set is admin.EndReasons.
//
//	sctpguard_dropped_messages_total{relay, reason}      counter
//	    Messages and events read and dropped, by reason (admin.DropReasons):
//	    read_error (a read of a shared socket failed), no_association,
//	    association_closed and socket_closing (read on a shared socket for
//	    an association that had ended or was ending), undeliverable (read
//	    after the receiving leg had shut down), interrupted (the pieces of a
//	    message its sender ended before its last piece), or other.
//
//	sctpguard_budget_used_bytes{level, relay}            gauge
//	sctpguard_budget_limit_bytes{level, relay}           gauge
//	    The true cost (what the kernel holds for the messages, by config.Cost)
//	    charged against a memory budget, and its limit; a limit of 0 means
//	    unlimited. level is global (with relay="") or relay.
//
//	sctpguard_association_held_bytes{relay}              gauge
//	    True cost held for the relay's associations, both directions,
//	    summed over its associations.
//
//	sctpguard_writer_blocked_seconds_total{relay}        counter
//	    Time writers spent blocked on a quota, summed over associations.
//	    Its rate is the average number of writers blocked at once.
//
//	sctpguard_path_events_total{relay}                   counter
//	    Path state changes (SCTP_PEER_ADDR_CHANGE) on either leg of the
//	    relay's associations: a multi-homed peer's address became
//	    unreachable, available again, ... The log line names the address.
//
//	sctpguard_relay_info{relay, listen_style}            gauge, always 1
//	    The relay's front socket style: one_to_one or one_to_many.
//
//	sctpguard_shared_socket_queued_bytes{relay}          gauge
//	sctpguard_shared_socket_stalled_seconds_total{relay} counter
//	    For a one_to_many relay: the true cost read from its shared front
//	    socket that waits for the associations' pipes, and the time the socket
//	    was not read because a message did not fit the quotas (every
//	    association on it waited meanwhile).
//
//	sctpguard_build_info{version}                        gauge, always 1
//	sctpguard_start_time_seconds                         gauge
//	    The daemon's version, and when it started (Unix time).
//
// Associations of a relay removed by a reload keep their relay's name in
// sctpguard_associations and sctpguard_association_held_bytes until they
// end.
//
// Useful expressions:
//
//	# share of the global budget in use
//	sctpguard_budget_used_bytes{level="global"} / (sctpguard_budget_limit_bytes{level="global"} > 0)
//	# associations ended by something other than a clean shutdown, per minute
//	sum by (relay, reason) (rate(sctpguard_associations_ended_total{reason!~"shutdown|drain"}[5m])) * 60
//
// # Typical use
//
// In the daemon, when metrics.listen is set, before the relays start and
// until ctx ends:
//
//	ms, err := metrics.Listen(cfg.Metrics.Listen)
//	if err != nil { ... }  // "metrics: listen 127.0.0.1:9368: bind: address already in use"
//	ms.Log = log.Named("metrics")
//	g.Go(func() error { return ms.Serve(ctx, srv) }) // *proxy.Server implements Source
//
// Serve returns nil when ctx ends, after the scrapes in flight (at most
// 5 s); Close releases the port of a Server that will not serve.
//
// NewCollector is the same metrics as a prometheus.Collector, for a
// program that has its own registry.
package metrics
