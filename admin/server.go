package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
)

// DefaultMode is the socket's mode when Listen is given zero: the daemon's
// user only.
const DefaultMode os.FileMode = 0o600

// shutdownGrace bounds how long Serve waits for in-flight requests once its
// context ends. Status is a snapshot and Reload a validation, so requests
// finish in milliseconds; the bound only keeps a stuck Reloader from
// holding the daemon's exit forever.
const shutdownGrace = 10 * time.Second

// Server is the admin API on a Unix socket. Create it with Listen, then call
// Serve; call Close instead if the daemon gives up before serving.
type Server struct {
	// Log receives refused peers and reloads. If nil, nothing is logged.
	Log hclog.Logger

	path      string
	ln        *net.UnixListener
	access    access
	serving   atomic.Bool
	reloadMu  sync.Mutex // one reload at a time
	closeOnce sync.Once
	closeErr  error
}

// Listen creates the admin socket at path, with permission bits mode (zero
// means DefaultMode; others may get no access). If group is not empty (a
// name or a numeric id), its members may read the status and change the
// daemon (reload, profiles); if readGroup is not empty, its members may only
// read the status. The socket is given readGroup if set, else group, so that
// with a mode such as 0660 those members can connect (a member of group
// must then be in readGroup too to connect). The parent directory is created
// with mode 0750 (and the socket's group) if missing; an existing one is left
// as it is. A socket left behind by a daemon that died is removed; if a
// daemon answers on it, Listen fails and leaves it alone.
func Listen(path string, mode os.FileMode, group, readGroup string) (*Server, error) {
	if mode == 0 {
		mode = DefaultMode
	}
	if err := checkMode(mode); err != nil {
		return nil, fmt.Errorf("admin socket %s: %w", path, err)
	}
	full, err := lookupGroup(group)
	if err != nil {
		return nil, fmt.Errorf("admin socket %s: %w", path, err)
	}
	read, err := lookupGroup(readGroup)
	if err != nil {
		return nil, fmt.Errorf("admin socket %s: read group: %w", path, err)
	}
	g := full
	if read.id >= 0 {
		g = read
	}
	if err := ensureDir(filepath.Dir(path), g); err != nil {
		return nil, fmt.Errorf("admin socket %s: %w", path, err)
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	s := &Server{path: path, ln: ln}
	if s.access, err = secure(path, mode, g, full, read.id >= 0); err != nil {
		ln.Close() // also removes the socket
		return nil, fmt.Errorf("admin socket %s: %w", path, err)
	}
	return s, nil
}

// Path returns the socket's path.
func (s *Server) Path() string { return s.path }

// Serve answers requests until ctx ends, then stops accepting, waits for the
// requests in flight (at most 10 s) and removes the socket. src must not be
// nil; rl may be, and POST /v1/reload then answers 501. Serve may be called
// once.
func (s *Server) Serve(ctx context.Context, src Source, rl Reloader) error {
	if src == nil {
		return errors.New("admin: serve: nil Source")
	}
	if !s.serving.CompareAndSwap(false, true) {
		return errors.New("admin: serve: called twice")
	}
	hs := &http.Server{
		Handler:           s.guard(s.routes(src, rl)),
		ConnContext:       connContext,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          s.errorLog(),
	}
	done := make(chan error, 1)
	go serveHTTP(hs, &onceListener{s.ln, s}, done)
	select {
	case err := <-done:
		s.Close()
		return fmt.Errorf("admin: serve %s: %w", s.path, err)
	case <-ctx.Done():
	}
	return s.shutdown(hs, done)
}

func serveHTTP(hs *http.Server, ln net.Listener, done chan<- error) {
	done <- hs.Serve(ln)
}

func (s *Server) shutdown(hs *http.Server, done <-chan error) error {
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err := hs.Shutdown(sctx)
	<-done // http.ErrServerClosed
	if err != nil {
		hs.Close()
		return fmt.Errorf("admin: shutdown: requests still running after %v: %w", shutdownGrace, err)
	}
	return nil
}

// Close closes the socket and removes it. Serve does this itself when its
// context ends; Close is for a Server that will not serve. It may be called
// more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.ln.Close() })
	return s.closeErr
}

// onceListener lets http.Server close the listener through Server.Close.
type onceListener struct {
	*net.UnixListener
	s *Server
}

func (l *onceListener) Close() error { return l.s.Close() }

func (s *Server) errorLog() *log.Logger {
	if s.Log == nil {
		return log.New(io.Discard, "", 0)
	}
	return s.Log.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Debug})
}

func checkMode(mode os.FileMode) error {
	switch {
	case mode&^0o777 != 0:
		return fmt.Errorf("mode %#o: only permission bits are allowed", mode)
	case mode&0o007 != 0:
		return fmt.Errorf("mode %#o gives others access; allowed 0600 to 0770, with a group", mode)
	case mode&0o600 != 0o600:
		return fmt.Errorf("mode %#o must let the owner read and write (0600)", mode)
	}
	return nil
}

// group is a resolved group: id -1 means none was configured.
type group struct {
	id   int
	name string
}

func lookupGroup(name string) (group, error) {
	if name == "" {
		return group{id: -1}, nil
	}
	if id, err := strconv.Atoi(name); err == nil && id >= 0 {
		return group{id: id, name: groupName(uint32(id))}, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return group{}, fmt.Errorf("group %q: %w", name, err)
	}
	id, err := strconv.Atoi(g.Gid)
	if err != nil {
		return group{}, fmt.Errorf("group %q has a non-numeric id %q", name, g.Gid)
	}
	return group{id: id, name: name}, nil
}

// groupName returns the name of group id, or the number if it has none.
func groupName(id uint32) string {
	s := strconv.FormatUint(uint64(id), 10)
	if g, err := user.LookupGroupId(s); err == nil {
		return g.Name
	}
	return s
}

// ensureDir creates dir with mode 0750 and group g if it is missing.
func ensureDir(dir string, g group) error {
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	return giveGroup(dir, g)
}

// giveGroup makes g the group of path, if one is configured. What the daemon
// creates already has its primary group — under systemd the unit's Group= —
// and then nothing is changed: no chown, which a seccomp filter such as the
// shipped unit's ~@privileged refuses. Another group can be given only by a
// daemon that is a member of it.
func giveGroup(path string, g group) error {
	if g.id < 0 {
		return nil
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if fi.Sys().(*syscall.Stat_t).Gid == uint32(g.id) {
		return nil
	}
	if err := os.Chown(path, -1, g.id); err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("give it group %s: %w: a daemon can give only a group it is in; under systemd make %s the unit's Group=", g.name, err, g.name)
		}
		return fmt.Errorf("give it group %s: %w", g.name, err)
	}
	return nil
}

// removeStale removes the socket at path if no process answers on it.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("admin socket %s: exists and is not a socket; remove it or set another admin.socket", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("another sctpguard is running on %s", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("admin socket %s: cannot tell whether a daemon is using it, leaving it: %w", path, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("admin socket: remove stale socket: %w", err)
	}
	return nil
}

// secure gives the socket at path its mode and group g and returns who may
// use it: with readOnly, g's members may only read and full's members may
// also change; otherwise g is full and its members may do everything.
func secure(path string, mode os.FileMode, g, full group, readOnly bool) (access, error) {
	if err := os.Chmod(path, mode); err != nil {
		return access{}, err
	}
	if err := giveGroup(path, g); err != nil {
		return access{}, err
	}
	a := access{self: uint32(os.Geteuid()), gid: -1, readGid: -1}
	if mode&0o020 == 0 {
		return a, nil // the group may not connect
	}
	if g.id < 0 {
		fi, err := os.Lstat(path)
		if err != nil {
			return access{}, err
		}
		g.id = int(fi.Sys().(*syscall.Stat_t).Gid)
		g.name = groupName(uint32(g.id))
	}
	if !readOnly {
		a.gid, a.group = g.id, g.name
		return a, nil
	}
	a.readGid, a.readGroup = g.id, g.name
	a.gid, a.group = full.id, full.name
	return a, nil
}
