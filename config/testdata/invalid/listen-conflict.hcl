relay "a" {
  listen   = ["127.0.0.1:3868", "[::1]:3868"]
  upstream = ["192.0.2.10:3868"]
}
relay "b" {
  listen   = ["127.0.0.1:3868"]
  upstream = ["192.0.2.11:3868"]
}
relay "c" {
  listen   = ["[::]:3868"]
  upstream = ["192.0.2.12:3868"]
}
relay "ephemeral-1" {
  listen   = ["127.0.0.1:0"]
  upstream = ["192.0.2.13:3868"]
}
relay "ephemeral-2" {
  listen   = ["127.0.0.1:0"]
  upstream = ["192.0.2.13:3868"]
}
