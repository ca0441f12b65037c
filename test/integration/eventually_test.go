package integration

import (
	"strings"
	"testing"
	"time"
)

// eventually polls cond until it holds and returns how long that took, or
// fails the test with what (and, if given, what explain says of the last
// state) once timeout has passed. It is this package's one way to wait for
// something: the relay, a peer or the kernel doing it.
//
// It polls every timeout/300, at least 10 ms and at most 100 ms apart: a
// short wait is seen within a few milliseconds, while a long one asks
// sctpguard's status (a request to the daemon under test) at most ten times a
// second.
func eventually(t *testing.T, what string, timeout time.Duration, cond func() bool, explain ...func() string) time.Duration {
	t.Helper()
	every := min(max(timeout/300, 10*time.Millisecond), 100*time.Millisecond)
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			var why []string
			for _, e := range explain {
				why = append(why, e())
			}
			t.Fatalf("%s: not within %v %s", what, timeout, strings.Join(why, "; "))
		}
		time.Sleep(every)
	}
	return time.Since(start)
}
