relay "small-association" {
  listen   = ["127.0.0.1:3868"]
  upstream = ["192.0.2.10:3868"]
  quota {
    association = "256KiB"
  }
}
relay "big-message" {
  listen      = ["127.0.0.2:3868"]
  upstream    = ["192.0.2.10:3868"]
  max_message = "1MiB"
}
relay "small-socket" {
  listen   = ["127.0.0.3:3868"]
  upstream = ["192.0.2.10:3868"]
  quota {
    association = "2MiB"
    socket      = "1MiB"
  }
}
relay "big-socket" {
  listen   = ["127.0.0.4:3868"]
  upstream = ["192.0.2.10:3868"]
  quota {
    socket = "1GiB"
  }
}
quota {
  global = "512MiB"
}
