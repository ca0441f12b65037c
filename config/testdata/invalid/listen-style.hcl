relay "typo" {
  listen       = ["127.0.0.1:3868"]
  upstream     = ["192.0.2.10:3868"]
  listen_style = "one-to-many"
}
relay "no-socket-quota" {
  listen       = ["127.0.0.2:3868"]
  upstream     = ["192.0.2.10:3868"]
  listen_style = "one_to_many"
}
relay "wrong-type" {
  listen       = ["127.0.0.3:3868"]
  upstream     = ["192.0.2.10:3868"]
  listen_style = 2
}
