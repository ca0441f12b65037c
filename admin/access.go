package admin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/user"
	"slices"
	"strconv"
)

// access is who may use the API, checked against the credentials the kernel
// records for each connection (SO_PEERCRED, SO_PEERGROUPS), per request:
// reading the status is one class, changing the daemon (reload) and
// profiling it (pprof, which costs CPU and shows its internals) the other.
//
// The socket's permission bits already decide who can connect; this check
// is defence in depth and uses the same rule with the values the daemon was
// configured with: root and the daemon's own user may do everything;
// members of the full group (admin.group) too, and members of the read group
// (admin.read_group) may only read — each only when the mode grants the
// socket's group write access. It still holds if the socket is later made
// more permissive by hand, and during the instant between bind and chmod in
// Listen. Others never pass, and a connection whose credentials cannot be
// read is refused.
type access struct {
	self      uint32 // the daemon's effective uid
	gid       int    // the group whose members may do everything; -1 for none
	group     string // its name, for messages
	readGid   int    // the group whose members may only read; -1 for none
	readGroup string
}

// class is what a request does: read the status, or change or profile the
// daemon.
type class int

const (
	classChange class = iota // the default: anything but reading the status
	classRead
)

// classOf is the class of a request: only GET /v1/status reads.
func classOf(r *http.Request) class {
	if r.URL.Path == pathStatus && r.Method == http.MethodGet {
		return classRead
	}
	return classChange
}

// peer holds the credentials of a connected process.
type peer struct {
	pid      int32
	uid, gid uint32
	groups   []uint32 // supplementary groups; nil if the kernel cannot tell
}

func (a access) allows(p peer, c class) bool {
	if p.uid == 0 || p.uid == a.self || p.in(a.gid) {
		return true
	}
	return c == classRead && p.in(a.readGid)
}

// in reports whether the peer is a member of group gid; never for -1.
func (p peer) in(gid int) bool {
	if gid < 0 {
		return false
	}
	return p.gid == uint32(gid) || slices.Contains(p.groups, uint32(gid))
}

// hint tells a refused user what would let them in for class c.
func (a access) hint(c class) string {
	who := []string{"root"}
	if a.self != 0 {
		who = append(who, "user "+userName(a.self))
	}
	if a.gid >= 0 {
		who = append(who, "a member of group "+a.group)
	}
	if c == classRead && a.readGid >= 0 {
		who = append(who, "a member of group "+a.readGroup)
	}
	return "run as " + joinOr(who)
}

// joinOr joins ["root", "user x", "a member of group g"] as
// "root, as user x or as a member of group g".
func joinOr(who []string) string {
	s := who[0]
	for i, w := range who[1:] {
		if i == len(who)-2 {
			s += " or as " + w
		} else {
			s += ", as " + w
		}
	}
	return s
}

type peerKey struct{}

// peerResult is what connContext learnt about a connection's peer.
type peerResult struct {
	peer peer
	err  error
}

// connContext records the peer's credentials once per connection.
func connContext(ctx context.Context, c net.Conn) context.Context {
	p, err := peerOf(c)
	return context.WithValue(ctx, peerKey{}, peerResult{p, err})
}

// guard refuses requests from peers that access does not allow for the
// request's class.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pr, ok := r.Context().Value(peerKey{}).(peerResult)
		if !ok {
			pr.err = errors.New("no peer credentials")
		}
		if err := s.check(pr, classOf(r)); err != nil {
			s.warn("refused admin request", "method", r.Method, "path", r.URL.Path, "error", err)
			writeError(w, http.StatusForbidden, err.Error(), "")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) check(pr peerResult, c class) error {
	if pr.err != nil {
		return fmt.Errorf("cannot identify the client (%v), so it may not use the admin API", pr.err)
	}
	if s.access.allows(pr.peer, c) {
		return nil
	}
	if c == classChange && s.access.allows(pr.peer, classRead) {
		return fmt.Errorf("uid %d (pid %d) may read the status but not change or profile the daemon: %s",
			pr.peer.uid, pr.peer.pid, s.access.hint(c))
	}
	return fmt.Errorf("uid %d (pid %d) may not use the admin API: %s", pr.peer.uid, pr.peer.pid, s.access.hint(c))
}

func (s *Server) warn(msg string, args ...any) {
	if s.Log != nil {
		s.Log.Warn(msg, args...)
	}
}

// userName returns the name of user id, or the number if it has none.
func userName(id uint32) string {
	s := strconv.FormatUint(uint64(id), 10)
	if u, err := user.LookupId(s); err == nil {
		return u.Username
	}
	return s
}
