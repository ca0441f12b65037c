# The global quota must lend it too: 1MiB less an eighth is 896KiB, and one
# association with the default max_message (256KiB, 892KiB at worst) needs
# 892KiB + the other direction's 64KiB reserve.
relay "diameter" {
  listen   = ["127.0.0.1:3868"]
  upstream = ["192.0.2.10:3868"]
}
quota {
  global = "1MiB"
}
