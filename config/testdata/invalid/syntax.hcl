relay "diameter" {
  listen   = ["127.0.0.1:3868"
  upstream = ["192.0.2.10:3868"]
}
