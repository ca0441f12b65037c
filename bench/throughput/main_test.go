package main

import (
	"strings"
	"testing"
	"time"
)

func TestQuickKeepsExplicitFlags(t *testing.T) {
	s, err := parseFlags([]string{"-quick", "-sizes", "1,64", "-rounds", "3"})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.sizes) != 2 || s.sizes[1] != 64 || s.rounds != 3 || s.warm != 300*time.Millisecond {
		t.Errorf("-quick with explicit flags gave sizes %v, rounds %d, warm %v", s.sizes, s.rounds, s.warm)
	}
	s, err = parseFlags([]string{"-quick"})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.sizes) != 2 || s.sizes[0] != 100 || s.rounds != 2 {
		t.Errorf("-quick gave sizes %v, rounds %d", s.sizes, s.rounds)
	}
}

func TestConsumerFlag(t *testing.T) {
	s, err := parseFlags(nil)
	if err != nil || s.consumer != sameNetns {
		t.Fatalf("default -consumer %q (%v), want %q", s.consumer, err, sameNetns)
	}
	if s, err = parseFlags([]string{"-consumer", "other"}); err != nil || s.consumer != otherNetns {
		t.Fatalf("-consumer other gave %q (%v)", s.consumer, err)
	}
	if _, err := parseFlags([]string{"-consumer", "elsewhere"}); err == nil || !strings.Contains(err.Error(), "elsewhere") {
		t.Errorf("-consumer elsewhere: error %v, want one naming the value", err)
	}
}
