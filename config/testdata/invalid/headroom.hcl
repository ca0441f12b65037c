# quota.socket less its headroom (an eighth) must lend one association its
# largest message beyond its reserves, and hold both its reserves.
relay "tight-socket" {
  listen      = ["127.0.0.1:3868"]
  upstream    = ["192.0.2.10:3868"]
  max_message = "64KiB"
  quota {
    association = "260KiB"
    socket      = "300KiB"
  }
}
relay "small-reserves" {
  listen      = ["127.0.0.1:3869"]
  upstream    = ["192.0.2.10:3869"]
  max_message = "1KiB"
  quota {
    association = "40KiB"
    socket      = "40KiB"
  }
}
relay "fits" {
  listen      = ["127.0.0.1:3870"]
  upstream    = ["192.0.2.10:3870"]
  max_message = "64KiB"
  quota {
    association = "260KiB"
    socket      = "371KiB"
  }
}
