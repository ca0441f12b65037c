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
