package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sctpguard/sctpguard/bench/internal/proc"
	"github.com/sctpguard/sctpguard/calibrate"
)

// memAvailable is the host memory available, in bytes: MemAvailable plus the
// free pages on per-CPU lists, which MemAvailable misses (calibrate.Available).
func memAvailable() (int64, error) { return calibrate.Available() }

// memTotal is MemTotal from /proc/meminfo, in bytes.
func memTotal() (int64, error) { return meminfo("MemTotal") }

func meminfo(field string) (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("read memory: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read memory: /proc/meminfo %s: %w", field, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("read memory: /proc/meminfo has no %s", field)
}

var dropWarning sync.Once

// dropCaches writes back dirty pages and drops the page cache, dentries and
// inodes, so that MemAvailable moves only with what the rows hold. Without
// root it warns once and does nothing.
func dropCaches(log func(string, ...any)) {
	syscall.Sync()
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0); err != nil {
		dropWarning.Do(func() { log("warning: cannot drop caches (%v): readings are noisier", err) })
	}
}

// settle drops caches and waits until MemAvailable holds still (two readings
// half a second apart within tol), for at most max; it returns the last
// reading and whether it held still.
func settle(ctx context.Context, tol int64, max time.Duration, log func(string, ...any)) (int64, bool) {
	dropCaches(log)
	prev, _ := memAvailable()
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) && sleep(ctx, 500*time.Millisecond) {
		dropCaches(log)
		cur, _ := memAvailable()
		if abs(cur-prev) <= tol {
			return cur, true
		}
		prev = cur
	}
	return prev, false
}

// recoverMem waits until MemAvailable is back within tol of baseline, for at
// most max, and returns the last reading.
func recoverMem(ctx context.Context, baseline, tol int64, max time.Duration, log func(string, ...any)) (int64, bool) {
	deadline := time.Now().Add(max)
	for {
		dropCaches(log)
		cur, _ := memAvailable()
		if cur >= baseline-tol {
			return cur, true
		}
		if !time.Now().Before(deadline) || !sleep(ctx, time.Second) {
			return cur, false
		}
	}
}

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// groupAnon is the resident anonymous memory (RssAnon: heap, stacks; not the
// binary's pages, which the page cache shares) of every process in process group
// pgid (a relay and the children it forked), from /proc/PID/status; 0 if none is
// found.
func groupAnon(pgid int) int64 {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var sum int64
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if g, err := syscall.Getpgid(pid); err != nil || g != pgid {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "RssAnon:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				sum += kb << 10
			}
		}
	}
	return sum
}

// sendQueued is what the senders' own send queues hold (SO_MEMINFO
// wmem_queued): memory the flood takes before any relay sees it.
func sendQueued(ss []*sender) int64 {
	var sum int64
	for _, s := range ss {
		if _, wq, err := s.c.Queued(); err == nil {
			sum += int64(wq)
		}
	}
	return sum
}

// cpuShare is the share of one core that process group pgid uses over window.
func cpuShare(ctx context.Context, pgid int, window time.Duration) (float64, error) {
	before, err := proc.GroupCPU(pgid)
	if err != nil {
		return -1, err
	}
	start := time.Now()
	if !sleep(ctx, window) {
		return -1, fmt.Errorf("relay CPU: %w", context.Cause(ctx))
	}
	after, err := proc.GroupCPU(pgid)
	if err != nil {
		return -1, err
	}
	return float64(after-before) / float64(time.Since(start)), nil
}
