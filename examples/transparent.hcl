# Two transparent relays, for the ruleset in transparent.nft: one for
# associations local applications open toward remote peers, one for those remote
# peers open toward local applications. Each connects every association to the
# destination it was addressed to before the ruleset's DNAT.
relay "outbound" {
  listen      = ["192.0.2.1:13868"] # RELAY_ADDR:OUT_PORT; one address, not loopback
  transparent = true
  mark        = "0x5c7"             # RELAY_MARK: the ruleset lets the relay's own connects pass
  quota {
    association = "1MiB"
  }
}
relay "inbound" {
  listen      = ["192.0.2.1:13869"] # RELAY_ADDR:IN_PORT
  transparent = true
  mark        = "0x5c7"
  quota {
    association = "1MiB"
  }
}
quota {
  global = "256MiB"
}
admin {
  socket = "/run/sctpguard/admin.sock"
}
