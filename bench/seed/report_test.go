package main

import (
	"errors"
	"strings"
	"testing"
	"time"
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
	md := markdown("header", rows, 16<<20)
	if !strings.Contains(md, want) {
		t.Errorf("markdown lacks the line:\n%s", md)
	}
}

func TestQuotaAndResumeLines(t *testing.T) {
	rows := []*row{
		{path: "direct", receiver: otherNetns, assocs: 2, used: 260e6, setup: 2e6, queued: 1e6,
			resume: &resumeResult{msgs: 144_420, took: 3 * time.Second, gap: 1500 * time.Millisecond}},
		{path: "sctpguard", receiver: otherNetns, assocs: 1000, used: 300e6, setup: 40e6, queued: 250e6,
			resume: &resumeResult{msgs: 1_000_000, took: 20 * time.Second, gap: 250 * time.Millisecond}},
	}
	md := markdown("header", rows, 16<<20)
	for _, want := range []string{
		"sctpguard, receiver in the other netns, 1000 assocs: the flood took 10.0 MB beyond the senders' own send queues (250.0 MB); global quota 16.8 MB",
		"resume (direct, receiver in the other netns, 2 assocs): 144,420 messages delivered exactly once, in order, in 3.0 s; longest wait between two messages 1.50 s",
		"resume (sctpguard, receiver in the other netns, 1000 assocs): 1,000,000 messages delivered exactly once, in order, in 20.0 s; longest wait between two messages 0.25 s",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "sctpguard, receiver in the other netns, 2 assocs") {
		t.Errorf("a quota line for the direct row:\n%s", md)
	}
}

func TestPPID(t *testing.T) {
	for _, c := range []struct {
		id  int
		seq int64
	}{{1, 1}, {maxAssocs, maxSeq}, {1000, 72_210}} {
		if id, seq := fromPPID(ppid(c.id, c.seq)); id != c.id || seq != c.seq {
			t.Errorf("ppid(%d, %d) reads back as %d, %d", c.id, c.seq, id, seq)
		}
	}
}
