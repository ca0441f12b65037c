# A file without any relay would relay nothing.
quota {
  global = "256MiB"
}
