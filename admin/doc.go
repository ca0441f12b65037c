// Package admin is the daemon's admin API and the client `sctpguard status`
// uses to read it.
//
// The API is HTTP over a Unix socket (never TCP), mode 0600 by default: only
// root and the daemon's user may use it. When the mode grants the group
// access (such as 0660), members of admin.group may use all of it, and
// members of admin.read_group only GET /v1/status: reading is one class,
// changing or profiling the daemon (POST /v1/reload, /debug/pprof/) the
// other. Every request is checked against the caller's credentials as the
// kernel recorded them (SO_PEERCRED, SO_PEERGROUPS) for its class; the file
// mode gates connect(), the check is defence in depth. A caller that fails
// it gets 403.
//
//	GET  /v1/status  200, a Status as JSON
//	POST /v1/reload  200 once the new configuration is in force;
//	                 422 {"error": ..., "diagnostics": ...} if it is invalid
//	                 (nothing changed); 501 if the daemon cannot reload
//
// Any other path is a 404, another method a 405, a query string or a request
// body a 400, each with a JSON body {"error": "..."}; none changes anything.
//
// # The JSON status
//
// The names are stable: fields may be added, never renamed or removed. Sizes
// are bytes, durations nanoseconds (the _ns suffix), "started" is RFC 3339,
// and a kernel queue of -1 means sock_diag could not tell. ↑ in the table
// and to_upstream in JSON are the direction from the application to the
// upstream peer; ↓ and to_front the way back.
//
//	{
//	  "version": "0.1.0", "started": "2025-11-25T08:00:00Z",
//	  "global": {"limit": 268435456, "used": 3670016},
//	  "relays": [{"name": "diameter", "listen": ["127.0.0.1:3868"],
//	              "upstream": ["192.0.2.10:3868"], "budget": {"limit": 0, "used": 3145728},
//	              "associations": 2}],
//	  "associations": [{"id": 7, "relay": "diameter", "front": "127.0.0.1:40312",
//	    "upstream": "192.0.2.10:3868", "state": "established",
//	    "msgs_to_upstream": 120, "bytes_to_upstream": 48000,
//	    "msgs_to_front": 118, "bytes_to_front": 47200,
//	    "held_to_upstream": 4096, "held_to_front": 0, "quota": 1048576,
//	    "kernel_to_upstream": 2048, "kernel_to_front": -1,
//	    "peer_rwnd_upstream": 106496, "peer_rwnd_front": 106496,
//	    "blocked_ns": 0, "age_ns": 93000000000}]
//	}
//
// # Typical use
//
// In the daemon, before the relays start and until ctx ends:
//
//	srv, err := admin.Listen(cfg.Admin.Socket, cfg.Admin.Mode, cfg.Admin.Group, cfg.Admin.ReadGroup)
//	if err != nil { ... }  // "another sctpguard is running on /run/sctpguard/admin.sock"
//	srv.Log = logger
//	g.Go(func() error { return srv.Serve(ctx, relay, relay) }) // relay implements Source and Reloader
//
// In `sctpguard status [--json]`:
//
//	st, err := admin.Fetch(ctx, cfg.Admin.Socket)
//	if err != nil { ... }  // the message is for the user as it is
//	if jsonFlag {
//		return admin.WriteJSON(os.Stdout, st)
//	}
//	return admin.WriteTable(os.Stdout, st)
//
// Under systemd, let the unit create the directory, owned by the group that
// may read the status; Listen leaves an existing directory as it is:
//
//	RuntimeDirectory=sctpguard
//	RuntimeDirectoryMode=0750
//	Group=sctpguard
package admin
