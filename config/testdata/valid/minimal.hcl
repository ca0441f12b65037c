relay "diameter" {
  listen   = ["127.0.0.1:3868"]
  upstream = ["192.0.2.10:3868", "198.51.100.10:3868"]
  quota {
    association = "1MiB"
  }
}
quota {
  global = "256MiB"
}
admin {
  socket = "/run/sctpguard/admin.sock"
}
