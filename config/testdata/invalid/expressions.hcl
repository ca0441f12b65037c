relay "diameter" {
  listen   = ["127.0.0.1:3868"]
  upstream = [var.peer]
  quota {
    association = upper("1mib")
  }
}
quota {
  global = 256 * 1024 * 1024
}
