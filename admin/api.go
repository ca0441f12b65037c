package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/pprof"
	"sort"
	"strings"
)

// The endpoints. Every answer is JSON; every error is an apiError.
const (
	pathStatus = "/v1/status"
	pathReload = "/v1/reload"
)

// apiError is the body of every answer that is not 200: a sentence for the
// user and, for a refused reload, the configuration's diagnostics.
type apiError struct {
	Error       string `json:"error"`
	Diagnostics string `json:"diagnostics,omitempty"`
}

type route struct {
	method string
	handle http.HandlerFunc
}

func (s *Server) routes(src Source, rl Reloader) http.Handler {
	api := router(map[string]route{
		pathStatus: {http.MethodGet, statusHandler(src)},
		pathReload: {http.MethodPost, s.reloadHandler(rl)},
	})
	mux := http.NewServeMux()
	mux.Handle("/", api)
	// Go's profiler, for whoever may use the admin socket:
	//   curl --unix-socket /run/sctpguard/admin.sock http://x/debug/pprof/heap > heap.pb.gz
	mux.HandleFunc(pathPprof, pprof.Index)
	mux.HandleFunc(pathPprof+"profile", pprof.Profile)
	mux.HandleFunc(pathPprof+"symbol", pprof.Symbol)
	mux.HandleFunc(pathPprof+"trace", pprof.Trace)
	return mux
}

// pathPprof serves net/http/pprof's profiles (heap, goroutine, profile, ...).
const pathPprof = "/debug/pprof/"

// router dispatches on the exact path, answers 404 and 405 with JSON, and
// refuses query parameters and request bodies, which no endpoint takes.
func router(routes map[string]route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rt, ok := routes[r.URL.Path]
		switch {
		case !ok:
			writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %q; the admin API has %s", r.URL.Path, listRoutes(routes)), "")
		case r.Method != rt.method:
			w.Header().Set("Allow", rt.method)
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s is not allowed; use %s", r.Method, r.URL.Path, rt.method), "")
		case r.URL.RawQuery != "":
			writeError(w, http.StatusBadRequest, fmt.Sprintf("%s takes no query parameters, got %q", r.URL.Path, r.URL.RawQuery), "")
		case hasBody(r):
			writeError(w, http.StatusBadRequest, fmt.Sprintf("%s takes no request body", r.URL.Path), "")
		default:
			rt.handle(w, r)
		}
	}
}

func listRoutes(routes map[string]route) string {
	var all []string
	for path, rt := range routes {
		all = append(all, rt.method+" "+path)
	}
	sort.Strings(all)
	return strings.Join(all, " and ")
}

func hasBody(r *http.Request) bool {
	var b [1]byte
	n, _ := io.ReadFull(r.Body, b[:])
	return n > 0
}

func statusHandler(src Source) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		var buf bytes.Buffer
		if err := WriteJSON(&buf, src.Status()); err != nil {
			writeError(w, http.StatusInternalServerError, "encode status: "+err.Error(), "")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(buf.Bytes())
	}
}

// reloadHandler runs one reload at a time: 200 when the new configuration is
// in force, 422 with its diagnostics when it was refused and nothing
// changed, 501 when the daemon has no Reloader.
func (s *Server) reloadHandler(rl Reloader) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if rl == nil {
			writeError(w, http.StatusNotImplemented, "this daemon cannot reload over the admin API", "")
			return
		}
		s.reloadMu.Lock()
		err := rl.Reload()
		s.reloadMu.Unlock()
		if err != nil {
			writeError(w, http.StatusUnprocessableEntity, "configuration not reloaded, nothing changed", err.Error())
			return
		}
		if s.Log != nil {
			s.Log.Info("configuration reloaded through the admin API")
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"reloaded":true}`+"\n")
	}
}

func writeError(w http.ResponseWriter, code int, msg, diagnostics string) {
	body, _ := json.Marshal(apiError{Error: msg, Diagnostics: diagnostics})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write(append(body, '\n'))
}
