package proxy

import (
	"testing"
	"time"
)

// eventually polls cond every millisecond until it holds, and fails the test if
// it does not within timeout. It is this package's one way to wait for
// something another goroutine does.
func eventually(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(time.Millisecond)
	}
}
