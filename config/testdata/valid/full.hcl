# Every attribute set, none to its default.
relay "s6a" {
  listen          = ["10.0.0.1:3868", "[2001:db8::1]:3868"]
  upstream        = ["192.0.2.10:3869"]
  streams         = 64
  max_message     = 65536
  connect_timeout = "1500ms"
  max_connecting  = 32
  stall_timeout   = "30s"
  nodelay         = false
  listen_style    = "one_to_many"
  quota {
    association = "0.5MiB"
    socket      = "32MiB"
  }
  path {
    heartbeat_interval  = "500ms"
    max_retransmissions = 2
    rto_initial         = "300ms"
    rto_min             = "100ms"
    rto_max             = "1s"
    primary             = "192.0.2.10:3869"
  }
}
relay "m3ua-1" {
  listen   = ["0.0.0.0:2905"]
  upstream = ["[2001:db8::20]:2905"]
}
relay "sidecar" {
  listen      = ["10.0.0.1:13868"]
  transparent = true
  mark        = "0x5c7"
}
quota {
  global = "1GiB"
}
cost {
  header   = "544B"
  overhead = "1792B"
}
admin {
  socket = "/run/sctpguard.sock"
  mode   = "0660"
  group  = "sctpguard"
}
metrics {
  listen = ":9368"
}
log {
  level  = "debug"
  format = "json"
}
shutdown {
  drain_timeout = "1m"
}
