relay "diameter" {
  listen   = ["127.0.0.1:3868"]
  upstream = ["192.0.2.10:3868"]
  quota {
    association = "1MiB"
  }
  quota {
    association = "2MiB"
  }
}
quota {
  global = "256MiB"
}
quota {
  global = "512MiB"
}
admin {
}
admin {
}
