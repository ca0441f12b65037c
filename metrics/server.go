package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// shutdownGrace bounds how long Serve waits for scrapes in flight once its
// context ends. A scrape reads counters, so it takes microseconds.
const shutdownGrace = 5 * time.Second

// maxScrapes bounds concurrent scrapes, and so concurrent Summary calls;
// more get 503.
const maxScrapes = 4

// Server serves GET /metrics over TCP. Create it with Listen, then call
// Serve; call Close instead if the daemon gives up before serving.
type Server struct {
	// Log receives errors from gathering and serving metrics, at Debug, and
	// a slow shutdown, at Warn. If nil, nothing is logged.
	Log hclog.Logger

	ln net.Listener
}

// Listen opens the TCP listener at addr ("host:port"; port 0 picks one).
// addr is not checked here: the configuration was validated before.
func Listen(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen %s: %w", addr, opCause(err))
	}
	return &Server{ln: ln}, nil
}

// opCause drops the "listen tcp ADDR:" that net.OpError repeats.
func opCause(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err
	}
	return err
}

// Addr returns the address the server listens on, with the port it got
// when Listen was given port 0.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close closes the listener. Serve does this itself when its context ends.
func (s *Server) Close() error { return s.ln.Close() }

// Serve answers GET /metrics from src, plus the Go runtime and process
// metrics, until ctx ends; then it stops accepting, waits for the scrapes
// in flight (at most 5 s) and returns nil. Any other path is a 404.
// src must not be nil. Serve may be called once.
func (s *Server) Serve(ctx context.Context, src Source) error {
	if src == nil {
		return errors.New("metrics: serve: nil Source")
	}
	hs := &http.Server{
		Handler:           routes(s.handler(src)),
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          s.errorLog(),
	}
	done := make(chan error, 1)
	go serveHTTP(hs, s.ln, done)
	select {
	case err := <-done:
		return fmt.Errorf("metrics: serve %s: %w", s.Addr(), err)
	case <-ctx.Done():
	}
	s.shutdown(hs, done)
	return nil
}

func serveHTTP(hs *http.Server, ln net.Listener, done chan<- error) {
	done <- hs.Serve(ln)
}

// shutdown stops hs; scrapes still running after shutdownGrace have their
// connections closed. Either way the daemon goes on stopping.
func (s *Server) shutdown(hs *http.Server, done <-chan error) {
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
		if s.Log != nil {
			s.Log.Warn("metrics: scrapes still running at shutdown, connections closed", "grace", shutdownGrace)
		}
	}
	<-done // http.ErrServerClosed
}

// handler serves a private registry: the daemon's metrics and the
// standard Go and process collectors, nothing registered globally.
func (s *Server) handler(src Source) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		NewCollector(src),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:            s.errorLog(),
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: maxScrapes,
	})
}

func routes(metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("/", notFound)
	return mux
}

func notFound(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, "404 not found: sctpguard serves its metrics at GET /metrics", http.StatusNotFound)
}

func (s *Server) errorLog() *log.Logger {
	if s.Log == nil {
		return log.New(io.Discard, "", 0)
	}
	return s.Log.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Debug})
}
