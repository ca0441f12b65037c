relay "hostname" {
  listen   = ["localhost:3868"]
  upstream = ["peer.example.net:3868"]
}
relay "ports" {
  listen   = ["127.0.0.2:3868", "127.0.0.3:3869"]
  upstream = ["192.0.2.10:0"]
}
relay "duplicates" {
  listen   = ["0.0.0.0:3870", "127.0.0.1:3870"]
  upstream = ["192.0.2.10:3868", "192.0.2.10:3868"]
}
relay "shapes" {
  listen   = "127.0.0.1:3871"
  upstream = ["0.0.0.0:3868", 3868, "192.0.2.10"]
}
relay "missing" {
  listen = []
}
relay "nulls" {
  listen   = [true ? null : "127.0.0.1:3872", null]
  upstream = null
}
