# Just enough everywhere: a 64 KiB message costs at most 260KiB by the
# default cost block; the socket lends 7/8 of 371KiB, one association's
# 260KiB plus the other direction's 64KiB reserve. The wildcard's peer is
# remote, on the same port.
relay "loopback-64k" {
  listen      = ["0.0.0.0:3868"]
  upstream    = ["192.0.2.10:3868"]
  max_message = "64KiB"
  quota {
    association = "260KiB"
    socket      = "371KiB"
  }
}
