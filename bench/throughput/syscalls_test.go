package main

import (
	"strings"
	"testing"
)

// strace -c's table, as strace 6.1 writes it: calls is the fourth column
// whether or not the row has errors, and the total row is not a call.
const straceSummary = `% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 61.30    0.350000          10     34000        13 recvmsg
 19.05    0.313000          10     30000           sendmsg
  0.37    0.000006           6         1           epoll_pwait
------ ----------- ----------- --------- --------- ----------------
100.00    0.663006          11     64001        13 total
`

func TestParseStraceSummary(t *testing.T) {
	calls, err := parseStraceSummary(strings.NewReader(straceSummary))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"recvmsg": 34000, "sendmsg": 30000, "epoll_pwait": 1}
	if len(calls) != len(want) {
		t.Fatalf("got %v, want %v", calls, want)
	}
	for k, v := range want {
		if calls[k] != v {
			t.Fatalf("%s: got %d, want %d (all: %v)", k, calls[k], v, calls)
		}
	}
	cc := perMessage(calls, 10000)
	if d := cc.total - 6.4001; d < -1e-9 || d > 1e-9 || cc.top(2) != "recvmsg 3.40, sendmsg 3.00" {
		t.Fatalf("per message: total %v, top %q", cc.total, cc.top(2))
	}
}

func TestParseStraceSummaryRefusesOther(t *testing.T) {
	for _, in := range []string{"", "strace: attach: ptrace(PTRACE_SEIZE, 1): Operation not permitted\n",
		"% time calls\n------\n 1.0 0.1 5 many read\n"} {
		if _, err := parseStraceSummary(strings.NewReader(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}
