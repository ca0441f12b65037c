relay "diameter" {
  listen          = ["127.0.0.1:3868"]
  upstream        = ["192.0.2.10:3868"]
  streams         = 0
  connect_timeout = 5
  nodelay         = "yes"
}
relay "sigtran" {
  listen          = ["127.0.0.2:2905"]
  upstream        = ["192.0.2.10:2905"]
  streams         = 70000
  connect_timeout = "-1s"
  max_connecting  = 0
  stall_timeout   = "48h"
}
relay "m3ua" {
  listen          = ["127.0.0.3:2905"]
  upstream        = ["192.0.2.10:2906"]
  max_connecting  = 1.5
  stall_timeout   = 30
}
relay "s1ap" {
  listen          = ["127.0.0.4:36412"]
  upstream        = ["192.0.2.10:36412"]
  stall_timeout   = "500ms"
}
admin {
  socket = "run/admin.sock"
  mode   = 0660
  group  = 0
}
metrics {
  listen = "localhost"
}
log {
  level  = "verbose"
  format = "xml"
}
shutdown {
  drain_timeout = "5 seconds"
}
