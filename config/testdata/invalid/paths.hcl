# Path settings: bad values, and RTO bounds that contradict each other or
# Linux's defaults (min 1s, initial 3s, max 60s).
relay "values" {
  listen   = ["127.0.0.1:3868"]
  upstream = ["192.0.2.10:3868"]
  path {
    heartbeat_interval  = "0.5ms"
    max_retransmissions = 0
    rto_initial         = 3
    rto_min             = "-1s"
    rto_max             = "48h"
  }
}
relay "min-above-max" {
  listen   = ["127.0.0.2:3868"]
  upstream = ["192.0.2.10:3868"]
  path {
    rto_min = "2s"
    rto_max = "1s"
  }
}
relay "max-below-default-min" {
  listen   = ["127.0.0.3:3868"]
  upstream = ["192.0.2.10:3868"]
  path {
    rto_max = "500ms"
  }
}
relay "initial-outside" {
  listen   = ["127.0.0.4:3868"]
  upstream = ["192.0.2.10:3868"]
  path {
    rto_initial = "50ms"
    rto_min     = "100ms"
    rto_max     = "1s"
  }
}
relay "initial-above-default-max" {
  listen   = ["127.0.0.5:3868"]
  upstream = ["192.0.2.10:3868"]
  path {
    rto_initial = "2m"
  }
}
relay "twice" {
  listen   = ["127.0.0.6:3868"]
  upstream = ["192.0.2.10:3868"]
  path {
    rto_min = "100ms"
  }
  path {
    heartbeat_interval = "1s"
  }
}
relay "primary-elsewhere" {
  listen   = ["127.0.0.9:3868"]
  upstream = ["192.0.2.10:3868", "198.51.100.10:3868"]
  path {
    primary = "192.0.2.99:3868"
  }
}
