relay "diameter" {
  listen   = ["127.0.0.1:3868"]
  upstream = ["192.0.2.10:3868"]
}
relay "diameter" {
  listen   = ["127.0.0.1:3868"]
  upstream = ["192.0.2.11:3868"]
}
relay "" {
  listen   = ["127.0.0.2:3868"]
  upstream = ["192.0.2.12:3868"]
}
relay "two words" {
  listen   = ["127.0.0.3:3868"]
  upstream = ["192.0.2.13:3868"]
}
relay {
  listen   = ["127.0.0.4:3868"]
  upstream = ["192.0.2.14:3868"]
}
