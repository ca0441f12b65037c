relay "diameter" {
  listen   = ["127.0.0.1:3868"]
  upstream = ["192.0.2.10:3868"]
}
admin {
  socket = "/run/sctpguard/a-very-long-directory-name-that-goes-on-and-on/and-on-and-on-and-on/admin.sock"
  mode   = "0666"
}
