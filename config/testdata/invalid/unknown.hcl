relay "diameter" {
  lisen    = ["127.0.0.1:3868"]
  upstream = ["192.0.2.10:3868"]
  qouta {
    association = "1MiB"
  }
}
quota {
  globl = "256MiB"
}
logging {
  level = "info"
}
