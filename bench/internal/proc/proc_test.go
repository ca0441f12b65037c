package proc

import (
	"os"
	"syscall"
	"testing"
)

func TestGroupCPU(t *testing.T) {
	st, err := ReadStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.Pgrp != syscall.Getpgrp() {
		t.Errorf("pgrp = %d, want %d", st.Pgrp, syscall.Getpgrp())
	}
	if _, err := GroupCPU(syscall.Getpgrp()); err != nil {
		t.Fatal(err)
	}
	if _, err := GroupCPU(1 << 30); err == nil {
		t.Error("GroupCPU of a group without processes succeeded")
	}
}

func TestTracedStatus(t *testing.T) {
	for _, c := range []struct {
		status string
		want   bool
	}{
		{"Name:\tsctpguard\nState:\tS (sleeping)\nTracerPid:\t0\nUid:\t0\n", false},
		{"Name:\tsctpguard\nTracerPid:\t4242\n", true},
		{"Name:\tsctpguard\n", false},
	} {
		if got := tracedStatus(c.status); got != c.want {
			t.Errorf("tracedStatus(%q) = %v, want %v", c.status, got, c.want)
		}
	}
}

func TestTracedSelf(t *testing.T) {
	ok, err := Traced([]int{os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	if ok {
		t.Skip("the test runs under a tracer")
	}
}
