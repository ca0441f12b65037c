# Issue 11: a 64 KiB message costs most split into chunks of 64964 B
# (260KiB by the default cost block), not 166KiB in chunks of 1212 B.
relay "loopback-64k" {
  listen      = ["127.0.0.1:3868"]
  upstream    = ["127.0.0.2:3868"]
  max_message = "64KiB"
  quota {
    association = "192KiB"
  }
}
relay "just-short" {
  listen      = ["127.0.0.1:3869"]
  upstream    = ["127.0.0.2:3869"]
  max_message = "64KiB"
  quota {
    association = "256KiB"
  }
}
relay "small-message" {
  listen      = ["127.0.0.1:3870"]
  upstream    = ["127.0.0.2:3870"]
  max_message = "1000B"
  quota {
    association = "2KiB"
  }
}
