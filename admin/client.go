package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// dialTimeout bounds connecting to the socket, whatever ctx allows.
const dialTimeout = 5 * time.Second

// Fetch asks the daemon listening on the socket at path for its status.
//
// Its errors are meant for the user as they are: a missing socket or one
// nobody listens on reads "no sctpguard running? cannot reach admin socket
// PATH: ...", and a refused user reads "permission denied on PATH: run as
// root or as a member of group G" (it matches fs.ErrPermission).
func Fetch(ctx context.Context, path string) (Status, error) {
	var st Status
	err := call(ctx, path, http.MethodGet, pathStatus, &st)
	return st, err
}

// Reload asks the daemon listening on the socket at path to reload its
// configuration. If the daemon refuses the new configuration, the error
// holds its diagnostics and the daemon runs on unchanged. Errors reaching
// the socket are those of Fetch.
func Reload(ctx context.Context, path string) error {
	return call(ctx, path, http.MethodPost, pathReload, nil)
}

// call makes one request and decodes a 200 answer into out (if not nil).
func call(ctx context.Context, path, method, endpoint string, out any) error {
	// The host is a placeholder: the transport always dials the socket.
	req, err := http.NewRequestWithContext(ctx, method, "http://sctpguard"+endpoint, nil)
	if err != nil {
		return err
	}
	resp, err := client(path).Do(req)
	if err != nil {
		return reachError(path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return answerError(path, method, endpoint, resp)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("admin socket %s: %s %s: decode answer: %w", path, method, endpoint, err)
	}
	return nil
}

func client(path string) *http.Client {
	d := net.Dialer{Timeout: dialTimeout}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		},
		DisableKeepAlives: true,
	}}
}

// reachError explains a failure to reach the daemon.
func reachError(path string, err error) error {
	cause := err
	var op *net.OpError
	if errors.As(err, &op) {
		cause = op.Err // "connect: no such file or directory"
	}
	switch {
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("no sctpguard running? cannot reach admin socket %s: %w", path, cause)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return &permissionError{path: path, hint: socketHint(path), err: cause}
	}
	return fmt.Errorf("admin socket %s: %w", path, cause)
}

// answerError turns an answer other than 200 into an error.
func answerError(path, method, endpoint string, resp *http.Response) error {
	var ae apiError
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err := json.Unmarshal(body, &ae); err != nil || ae.Error == "" {
		ae.Error = fmt.Sprintf("unexpected answer %.64q", body)
	}
	switch {
	case resp.StatusCode == http.StatusForbidden:
		return &permissionError{path: path, hint: ae.Error, err: fs.ErrPermission}
	case ae.Diagnostics != "":
		return fmt.Errorf("%s:\n%s", ae.Error, ae.Diagnostics)
	}
	return fmt.Errorf("admin socket %s: %s %s: %s (HTTP %d)", path, method, endpoint, ae.Error, resp.StatusCode)
}

// permissionError reports a user the admin socket or the daemon refused.
// It matches fs.ErrPermission.
type permissionError struct {
	path string // the socket
	hint string // who may use it, as a sentence: "run as root or ..."
	err  error  // the cause
}

func (e *permissionError) Error() string {
	return fmt.Sprintf("permission denied on %s: %s", e.path, e.hint)
}

func (e *permissionError) Unwrap() error { return e.err }

// socketHint reads the socket's owner, group and mode to say who may use it.
func socketHint(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "run as root or as a member of the group that owns " + filepath.Dir(path)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "run as root"
	}
	a := access{self: st.Uid, gid: -1, readGid: -1}
	if fi.Mode()&0o020 != 0 {
		a.gid, a.group = int(st.Gid), groupName(st.Gid)
	}
	return a.hint(classRead)
}
