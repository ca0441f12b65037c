relay "with-upstream" {
  listen      = ["10.0.0.1:13868"]
  transparent = true
  upstream    = ["192.0.2.10:3868"]
}
relay "mark-only" {
  listen   = ["10.0.0.1:13869"]
  upstream = ["192.0.2.10:3868"]
  mark     = 7
}
relay "wildcard" {
  listen      = ["0.0.0.0:13870"]
  transparent = true
}
relay "loopback" {
  listen      = ["127.0.0.1:13871"]
  transparent = true
}
relay "two" {
  listen      = ["10.0.0.1:13872", "10.0.0.2:13872"]
  transparent = true
}
relay "shared" {
  listen       = ["10.0.0.1:13873"]
  transparent  = true
  listen_style = "one_to_many"
  quota {
    socket = "16MiB"
  }
}
relay "marks" {
  listen      = ["10.0.0.1:13874"]
  transparent = true
  mark        = "0x1_0000_0000"
}
relay "mark-zero" {
  listen      = ["10.0.0.1:13875"]
  transparent = true
  mark        = 0
}
relay "mark-big" {
  listen      = ["10.0.0.1:13876"]
  transparent = true
  mark        = 4294967296
}
relay "primary" {
  listen      = ["10.0.0.1:13877"]
  transparent = true
  path {
    primary = "192.0.2.10:3868"
  }
}
relay "ephemeral" {
  listen      = ["10.0.0.1:0"]
  transparent = true
}
relay "no-upstream" {
  listen = ["10.0.0.1:13878"]
}
relay "udp-port" {
  listen            = ["127.0.0.1:13879"]
  upstream          = ["192.0.2.10:3868"]
  upstream_udp_port = 0
  front_udp         = "yes"
}
