package child

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// StartGuard writes config to dir/sctpguard.hcl, runs `bin run -c` on it with its
// log in dir/sctpguard.log, and waits until it listens on every port given.
func StartGuard(ctx context.Context, bin, dir, config string, ports ...uint16) (*Child, error) {
	path := filepath.Join(dir, "sctpguard.hcl")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		return nil, fmt.Errorf("write sctpguard config: %w", err)
	}
	c, err := Start("sctpguard", filepath.Join(dir, "sctpguard.log"), bin, "run", "-c", path)
	if err != nil {
		return nil, err
	}
	for _, p := range ports {
		if err := c.WaitListening(ctx, p); err != nil {
			c.Stop(10 * time.Second)
			return nil, err
		}
	}
	return c, nil
}
