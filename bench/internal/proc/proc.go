// Package proc reads what the benchmarks measure of a process group from
// /proc: its members and the CPU time it has used, so that a relay and
// everything it forks are measured together.
package proc

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of the times in /proc/PID/stat: 100 on
// every Linux architecture Go runs on.
const clockTick = 10 * time.Millisecond

// GroupCPU is the CPU time, user plus system, that the process group pgid
// has used so far: that of its live members, plus that of the children its
// leader has reaped (cutime, cstime). A relay started as a group leader is
// thus measured with everything it forks, whether or not a child has
// exited between two readings.
func GroupCPU(pgid int) (time.Duration, error) {
	var ticks int64
	err := eachInGroup(pgid, func(pid int, st Stat) {
		ticks += st.Utime + st.Stime
		if pid == pgid {
			ticks += st.Cutime + st.Cstime
		}
	})
	if err != nil {
		return 0, fmt.Errorf("read CPU time: %w", err)
	}
	return time.Duration(ticks) * clockTick, nil
}

// Group lists the live processes of process group pgid.
func Group(pgid int) ([]int, error) {
	var pids []int
	err := eachInGroup(pgid, func(pid int, _ Stat) { pids = append(pids, pid) })
	return pids, err
}

// eachInGroup calls f for every live process of group pgid.
func eachInGroup(pgid int, f func(pid int, st Stat)) error {
	dir, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	found := false
	for _, e := range dir {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := ReadStat(pid)
		if err != nil || st.Pgrp != pgid {
			continue // gone since ReadDir, or another group
		}
		found = true
		f(pid, st)
	}
	if !found {
		return fmt.Errorf("no process in group %d", pgid)
	}
	return nil
}

// Stat is what GroupCPU needs of /proc/PID/stat.
type Stat struct {
	Pgrp                         int
	Utime, Stime, Cutime, Cstime int64 // clock ticks
}

// ReadStat reads /proc/PID/stat.
func ReadStat(pid int) (Stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Stat{}, err
	}
	// The command name, in parentheses, may hold spaces and parentheses:
	// the fields that matter follow the last ')'. f[0] is field 3 (state).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return Stat{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 15 {
		return Stat{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	var st Stat
	var n [5]int64
	for k, idx := range []int{2, 11, 12, 13, 14} { // pgrp, utime, stime, cutime, cstime
		if n[k], err = strconv.ParseInt(string(f[idx]), 10, 64); err != nil {
			return Stat{}, fmt.Errorf("/proc/%d/stat field %d: %w", pid, idx+3, err)
		}
	}
	st.Pgrp = int(n[0])
	st.Utime, st.Stime, st.Cutime, st.Cstime = n[1], n[2], n[3], n[4]
	return st, nil
}

// Traced reports whether every thread of every process in pids is being
// traced (ptrace): strace attaches to them one by one after it starts.
func Traced(pids []int) (bool, error) {
	for _, pid := range pids {
		tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if err != nil {
			return false, err
		}
		for _, task := range tasks {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, task.Name()))
			if err != nil {
				return false, err
			}
			if !tracedStatus(string(b)) {
				return false, nil
			}
		}
	}
	return true, nil
}

// tracedStatus reports whether a /proc status file names a tracer.
func tracedStatus(status string) bool {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, "TracerPid:"); ok {
			return strings.TrimSpace(v) != "0"
		}
	}
	return false
}
