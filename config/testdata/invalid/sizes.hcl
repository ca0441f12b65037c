relay "units" {
  listen      = ["127.0.0.1:3868"]
  upstream    = ["192.0.2.10:3868"]
  max_message = "64KB"
  quota {
    association = "1mib"
    socket      = "-1MiB"
  }
}
relay "numbers" {
  listen      = ["127.0.0.2:3868"]
  upstream    = ["192.0.2.10:3868"]
  max_message = 1.5
  quota {
    association = "0.1KiB"
    socket      = true
  }
}
relay "ranges" {
  listen      = ["127.0.0.3:3868"]
  upstream    = ["192.0.2.10:3868"]
  max_message = "128MiB"
  quota {
    association = 0
    socket      = "99999999999GiB"
  }
}
quota {
  global = "lots"
}
cost {
  overhead = "2 parsecs"
}
