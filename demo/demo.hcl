# The demo's configuration: applications connect to 127.0.0.1:3868 and sctpguard
# relays every message to the peer at 127.0.0.1:9000.
relay "demo" {
  listen   = ["127.0.0.1:3868"]
  upstream = ["127.0.0.1:9000"]
  quota {
    association = "1MiB"
  }
}
quota {
  global = "64MiB"
}
admin {
  socket = "/run/sctpguard-demo/admin.sock"
}
