package child

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

// SaveProfile fetches one of Go's profiles (a name under /debug/pprof/, such as
// "heap") from sctpguard's admin socket sock into file.
func SaveProfile(ctx context.Context, sock, name, file string) error {
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://sctpguard/debug/pprof/"+name, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("profile %s: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile %s: HTTP %d", name, resp.StatusCode)
	}
	f, err := os.Create(file)
	if err != nil {
		return fmt.Errorf("profile %s: %w", name, err)
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil {
		return fmt.Errorf("profile %s: %w", name, err)
	}
	return nil
}
