package main

import (
	"errors"
	"strings"
	"testing"
)

func TestMarginalLine(t *testing.T) {
	rows := []*row{
		{path: "direct", assocs: 4, used: 512e6, setup: 2e6},
		{path: "sctpguard", assocs: 4, used: 22e6, setup: 10e6},
		{path: "direct", assocs: 16, used: 2012e6, setup: 2e6},
		{path: "sctpguard", assocs: 16, used: 46e6, setup: 10e6},
		{path: "socat", assocs: 4, used: 1e6, err: errors.New("no socat")},
	}
	got := marginalLine(rows)
	want := "flood cost of one more association (4 → 16 associations): direct 125.0 MB, sctpguard 2.0 MB"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := marginalLine(rows[:2]); got != "" {
		t.Errorf("one count per path: got %q, want none", got)
	}
	md := markdown("header", rows)
	if !strings.Contains(md, want) {
		t.Errorf("markdown lacks the line:\n%s", md)
	}
}
