package admin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"testing"
	"time"
)

// helperEnv, when set to a socket path, makes the test binary a client that
// fetches the status from it and reports, instead of running the tests. The
// permission tests run it as another user.
const helperEnv = "SCTPGUARD_ADMIN_TEST_FETCH"

func TestMain(m *testing.M) {
	if path := os.Getenv(helperEnv); path != "" {
		fetchAndReport(path)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// reloadEnv, set with helperEnv, makes the helper ask for a reload after it
// fetched the status, and report that too.
const reloadEnv = "SCTPGUARD_ADMIN_TEST_RELOAD"

func fetchAndReport(path string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	defer func() {
		if os.Getenv(reloadEnv) != "" {
			fmt.Printf("reload: %v\n", Reload(ctx, path))
		}
	}()
	st, err := Fetch(ctx, path)
	if err != nil {
		fmt.Printf("permission=%t\n%v\n", errors.Is(err, fs.ErrPermission), err)
		return
	}
	fmt.Printf("ok %s\n", st.Version)
}
