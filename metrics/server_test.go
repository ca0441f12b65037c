package metrics

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serve runs Serve on a loopback port and returns the base URL and a stop
// function that cancels it and returns what Serve returned.
func serve(t *testing.T, src *fakeSource) (url string, stop func() error) {
	t.Helper()
	srv, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, src) }()
	var stopped bool
	var serveErr error
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			select {
			case serveErr = <-done:
			case <-time.After(10 * time.Second):
				serveErr = errors.New("Serve did not return within 10 s of its context ending")
			}
		}
		return serveErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	return "http://" + srv.Addr().String(), stop
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestServe(t *testing.T) {
	url, stop := serve(t, &fakeSource{st: sampleStatus()})

	code, body := get(t, url+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", code, body)
	}
	for _, want := range []string{
		`sctpguard_relayed_messages_total{direction="to_upstream",relay="diameter"} 120` + "\n",
		`sctpguard_associations{relay="diameter",state="established"} 2` + "\n",
		"\ngo_goroutines ",
		"\nprocess_start_time_seconds ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /metrics lacks %q", want)
		}
	}

	code, body = get(t, url+"/nope")
	if code != http.StatusNotFound || !strings.Contains(body, "/metrics") {
		t.Errorf("GET /nope: %d %q, want 404 naming /metrics", code, body)
	}

	if err := stop(); err != nil {
		t.Fatalf("Serve returned %v after its context ended, want nil", err)
	}
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), time.Second); err == nil {
		c.Close()
		t.Fatal("the port still accepts connections after Serve returned")
	}
}

// A scrape in flight when the context ends is answered before Serve returns.
func TestServeWaitsForScrape(t *testing.T) {
	src := &fakeSource{st: sampleStatus(), entered: make(chan struct{}), release: make(chan struct{})}
	url, stop := serve(t, src)
	type result struct {
		code int
		body string
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get(url + "/metrics")
		if err != nil {
			got <- result{body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- result{resp.StatusCode, string(b)}
	}()
	<-src.entered
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	time.Sleep(50 * time.Millisecond) // let Shutdown begin
	close(src.release)
	if r := <-got; r.code != http.StatusOK || !strings.Contains(r.body, "sctpguard_build_info") {
		t.Errorf("scrape in flight at shutdown: %d %.200q", r.code, r.body)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Serve returned %v, want nil", err)
	}
}

func TestListenError(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	_, err = Listen(addr)
	if err == nil {
		t.Fatalf("Listen(%s) on a port in use succeeded", addr)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "metrics: listen "+addr+": ") || strings.Contains(msg, "listen tcp") {
		t.Errorf("error %q, want \"metrics: listen %s: <cause>\" without repeating the address", msg, addr)
	}
}

func TestServeNilSource(t *testing.T) {
	srv, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Serve(context.Background(), nil); err == nil {
		t.Fatal("Serve with a nil Source succeeded")
	}
}

// Close before Serve, as the daemon does when it gives up starting, makes
// Serve fail at once rather than hang.
func TestServeAfterClose(t *testing.T) {
	srv, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	err = srv.Serve(context.Background(), &fakeSource{})
	if err == nil || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Serve after Close: %v, want net.ErrClosed", err)
	}
}
