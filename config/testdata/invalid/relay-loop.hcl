relay "same" {
  listen   = ["127.0.0.1:3868"]
  upstream = ["192.0.2.10:3868", "127.0.0.1:3868"]
}
relay "wildcard4" {
  listen   = ["0.0.0.0:2905"]
  upstream = ["127.0.0.5:2905"]
}
relay "wildcard6" {
  listen   = ["[::]:2906"]
  upstream = ["[::1]:2906", "127.0.0.1:2906"]
}
relay "mapped" {
  listen   = ["[::ffff:127.0.0.1]:2907"]
  upstream = ["127.0.0.1:2907"]
}
# Not loops: a remote peer on the wildcard's port, an IPv6 loopback
# address that an IPv4 wildcard does not bind, and another port.
relay "remote" {
  listen   = ["0.0.0.0:2908"]
  upstream = ["192.0.2.10:2908"]
}
relay "other-family" {
  listen   = ["0.0.0.0:2909"]
  upstream = ["[::1]:2909"]
}
relay "other-port" {
  listen   = ["127.0.0.1:2910"]
  upstream = ["127.0.0.1:2911"]
}
