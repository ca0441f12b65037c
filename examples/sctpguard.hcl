# sctpguard configuration: /etc/sctpguard/sctpguard.hcl
#
# Check it with `sctpguard check -c FILE`: every problem is printed with
# file:line. Every setting below other than listen and upstream shows its
# default; delete what you do not change.
#
# Sizes: a number of bytes, or a string with a binary unit: "512KiB",
# "1MiB", "1.5GiB" (B, KiB, MiB, GiB; KB/MB/GB are refused as ambiguous).
# Durations: Go duration strings: "500ms", "5s", "1m30s".
# Addresses: "ip:port" strings; host names are not resolved.

# One relay per peer endpoint. Applications connect to `listen` instead of
# their peer; every association they open is relayed to `upstream`.
relay "diameter" {
  # The front endpoint: one address, or several (same port) to be
  # multi-homed.
  listen = ["127.0.0.1:3868"]

  # The peer endpoint: all its addresses, on one port.
  upstream = ["192.0.2.10:3868", "198.51.100.10:3868"]

  streams         = 16       # outbound streams asked for on both legs
  max_message     = "256KiB" # a larger message aborts its association
  connect_timeout = "5s"     # to upstream
  max_connecting  = 256      # associations waiting for their upstream connect; more are aborted
  nodelay         = true     # SCTP_NODELAY on both legs
  # End with ABORT (reason "stalled") an association whose consumer has read
  # nothing for this long while its quota is full. Default: never.
  # stall_timeout = "30s"
  # One socket per front association ("one_to_one"), or one shared
  # SOCK_SEQPACKET socket for all of them ("one_to_many", needs quota.socket;
  # a stalled association then stops the others once the quotas are full).
  listen_style    = "one_to_one"

  quota {
    # True cost (see the cost block) one association may hold in each
    # direction. At least the cost of one max_message: `sctpguard check`
    # says when it is not.
    association = "1MiB"

    # All associations of this relay together; 0 = only the global quota.
    socket = "64MiB"
  }
}

# A second relay, multi-homed on both sides.
relay "m3ua" {
  listen   = ["10.0.0.1:2905", "10.1.0.1:2905"]
  upstream = ["[2001:db8::20]:2905", "[2001:db8:1::20]:2905"]

  # How fast a dead path is noticed, on both legs (each left out keeps the
  # kernel's default: heartbeat 30s, 5 retransmissions, RTO 3s/1s/60s).
  # These moved traffic off a failed veth path in about a second in
  # TestFailover; see config/doc.go.
  path {
    heartbeat_interval  = "200ms"
    max_retransmissions = 2
    rto_initial         = "200ms"
    rto_min             = "100ms"
    rto_max             = "400ms"
  }

  max_message = "64KiB" # M3UA messages are small

  quota {
    association = "512KiB"
  }
}

# Everything sctpguard holds on this host, all relays together.
quota {
  global = "256MiB"
}

# What the kernel spends on a message: each DATA chunk is kept in a buffer of
# its payload + header bytes rounded up to a power of two, plus overhead bytes.
# `sctpguard calibrate` measures this host and prints the block to put here;
# these defaults cover Linux 6.1 (measured: header 542B, overhead 767B).
cost {
  header   = "576B"
  overhead = "1KiB"
}

# The socket `sctpguard status` and live tuning talk to.
admin {
  socket = "/run/sctpguard/admin.sock"
  mode   = "0600" # octal string; 0600 to 0770, never open to others
  # group = "sctpguard" # with mode = "0660", lets that group use it
  # read_group = "sctpguard-read" # with mode = "0660": that group may only read the status; group then also reloads
}

# Prometheus metrics; off unless listen is set.
metrics {
  listen = "127.0.0.1:9368"
}

log {
  level  = "info" # trace, debug, info, warn, error
  format = "text" # text, json
}

shutdown {
  drain_timeout = "10s" # then the associations left are aborted
}
