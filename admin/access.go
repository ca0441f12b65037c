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
// records for each connection (SO_PEERCRED, SO_PEERGROUPS).
//
// The socket's permission bits already decide who can connect; this check
// is defence in depth and uses the same rule with the values the daemon was
// configured with: root, the daemon's own user, and — only when the mode
// grants the group write access — members of the socket's group. It still
// holds if the socket is later made more permissive by hand, and during the
// instant between bind and chmod in Listen, when the socket has the mode the
// umask gives it. Others never pass, and a connection whose credentials
// cannot be read is refused.
type access struct {
	self  uint32 // the daemon's effective uid
	gid   int    // the group whose members may connect; -1 for none
	group string // its name, for messages
}

// peer holds the credentials of a connected process.
type peer struct {
	pid      int32
	uid, gid uint32
	groups   []uint32 // supplementary groups; nil if the kernel cannot tell
}

func (a access) allows(p peer) bool {
	if p.uid == 0 || p.uid == a.self {
		return true
	}
	if a.gid < 0 {
		return false
	}
	return p.gid == uint32(a.gid) || slices.Contains(p.groups, uint32(a.gid))
}

// hint tells a refused user what would let them in.
func (a access) hint() string {
	who := []string{"root"}
	if a.self != 0 {
		who = append(who, "user "+userName(a.self))
	}
	if a.gid >= 0 {
		who = append(who, "a member of group "+a.group)
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

// guard refuses requests from peers that access does not allow.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pr, ok := r.Context().Value(peerKey{}).(peerResult)
		if !ok {
			pr.err = errors.New("no peer credentials")
		}
		if err := s.check(pr); err != nil {
			s.warn("refused admin request", "method", r.Method, "path", r.URL.Path, "error", err)
			writeError(w, http.StatusForbidden, err.Error(), "")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) check(pr peerResult) error {
	if pr.err != nil {
		return fmt.Errorf("cannot identify the client (%v), so it may not use the admin API", pr.err)
	}
	if !s.access.allows(pr.peer) {
		return fmt.Errorf("uid %d (pid %d) may not use the admin API: %s", pr.peer.uid, pr.peer.pid, s.access.hint())
	}
	return nil
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
