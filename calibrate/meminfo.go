package calibrate

import (
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Meminfo holds the fields of /proc/meminfo that a calibration reads, in
// bytes.
type Meminfo struct {
	// Available is MemAvailable: what the host could still hand out without
	// swapping. Its drop, with the per-CPU free pages added back (see
	// ParsePerCPUFree), is the memory a calibration charges to messages.
	Available int64
	// Slab and SUnreclaim are the kernel's object caches, all and
	// unreclaimable; reported to show where the memory went.
	Slab, SUnreclaim int64
}

// ParseMeminfo parses the text of /proc/meminfo. Every field must be
// present, in kB as the kernel prints them.
func ParseMeminfo(text string) (Meminfo, error) {
	var m Meminfo
	fields := []struct {
		name string
		p    *int64
		seen bool
	}{{"MemAvailable", &m.Available, false}, {"Slab", &m.Slab, false}, {"SUnreclaim", &m.SUnreclaim, false}}
	for line := range strings.SplitSeq(text, "\n") {
		name, rest, ok := strings.Cut(line, ":")
		for i := range fields {
			f := &fields[i]
			if !ok || f.name != name {
				continue
			}
			v, err := parseKB(rest)
			if err != nil {
				return Meminfo{}, fmt.Errorf("meminfo: %s: %w", name, err)
			}
			*f.p, f.seen = v, true
		}
	}
	for _, f := range fields {
		if !f.seen {
			return Meminfo{}, fmt.Errorf("meminfo: no %s field", f.name)
		}
	}
	return m, nil
}

// parseKB parses " 123456 kB" into bytes.
func parseKB(s string) (int64, error) {
	num, ok := strings.CutSuffix(strings.TrimSpace(s), " kB")
	if !ok {
		return 0, fmt.Errorf("%q: want a number of kB", strings.TrimSpace(s))
	}
	kb, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || kb < 0 || kb > math.MaxInt64>>10 {
		return 0, fmt.Errorf("%q: want a number of kB", strings.TrimSpace(s))
	}
	return kb << 10, nil
}

// ReadMeminfo reads /proc/meminfo.
func ReadMeminfo() (Meminfo, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return Meminfo{}, fmt.Errorf("read memory: %w", err)
	}
	return ParseMeminfo(string(b))
}

// parseRssAnon returns RssAnon from the text of /proc/PID/status, in bytes.
func parseRssAnon(text string) (int64, error) {
	for line := range strings.SplitSeq(text, "\n") {
		if v, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			return parseKB(v)
		}
	}
	return 0, fmt.Errorf("no RssAnon field")
}

// selfAnon is this process's anonymous resident memory, which MemAvailable
// also loses and which is not the kernel's: a calibration subtracts its
// growth.
func selfAnon() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read own memory: %w", err)
	}
	n, err := parseRssAnon(string(b))
	if err != nil {
		return 0, fmt.Errorf("read own memory: /proc/self/status: %w", err)
	}
	return n, nil
}

// ParsePerCPUFree returns the free pages parked on per-CPU lists, summed
// over every zone and CPU: the "count:" lines of the pagesets in the text
// of /proc/zoneinfo.
func ParsePerCPUFree(text string) (int64, error) {
	var pages int64
	seen := false
	for line := range strings.SplitSeq(text, "\n") {
		f := strings.Fields(line)
		if len(f) != 2 || f[0] != "count:" {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || n < 0 || n > maxPages-pages {
			return 0, fmt.Errorf("zoneinfo: %q: want a number of pages", strings.TrimSpace(line))
		}
		pages += n
		seen = true
	}
	if !seen {
		return 0, fmt.Errorf("zoneinfo: no per-CPU page counts")
	}
	return pages, nil
}

// maxPages bounds the pages ParsePerCPUFree accepts in all: 4 PiB of 4 KiB
// pages, far above any machine and far below an overflow.
const maxPages = 1 << 40

// perCPUFree reads /proc/zoneinfo and returns the bytes of free pages on
// per-CPU lists.
func perCPUFree() (int64, error) {
	b, err := os.ReadFile("/proc/zoneinfo")
	if err != nil {
		return 0, fmt.Errorf("read memory: %w", err)
	}
	pages, err := ParsePerCPUFree(string(b))
	if err != nil {
		return 0, fmt.Errorf("read memory: /proc/zoneinfo: %w", err)
	}
	return pages * int64(os.Getpagesize()), nil
}

// memory is what one reading of the host records.
type memory struct {
	Meminfo
	pcp  int64 // free bytes on per-CPU page lists, which MemAvailable leaves out
	anon int64 // this process's RssAnon
}

func readMemory() (memory, error) {
	var m memory
	var err error
	if m.Meminfo, err = ReadMeminfo(); err != nil {
		return memory{}, err
	}
	if m.pcp, err = perCPUFree(); err != nil {
		return memory{}, err
	}
	if m.anon, err = selfAnon(); err != nil {
		return memory{}, err
	}
	return m, nil
}

// available is what the host could hand out: MemAvailable plus the free
// pages on per-CPU lists.
func (m memory) available() int64 { return m.Available + m.pcp }

// used is the host memory taken between base and m that is not this
// process's own.
func (m memory) used(base memory) int64 {
	return (base.available() - m.available()) - (m.anon - base.anon)
}

// settleTolerance is how little available memory may move between two readings
// for the host to count as settled.
const settleTolerance = 128 << 10

// settle waits until available memory holds still (two readings 250 ms apart
// within settleTolerance), for at least 250 ms and at most max, and returns
// the last reading and whether it held still. With dropCaches it drops the
// page cache before every reading (root only).
func settle(ctx context.Context, max time.Duration, dropCaches bool) (memory, bool, error) {
	deadline := time.Now().Add(max)
	prev, err := readSettling(dropCaches)
	if err != nil {
		return memory{}, false, err
	}
	for {
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return memory{}, false, err
		}
		cur, err := readSettling(dropCaches)
		if err != nil {
			return memory{}, false, err
		}
		if abs(cur.available()-prev.available()) <= settleTolerance {
			return cur, true, nil
		}
		if !time.Now().Before(deadline) {
			return cur, false, nil
		}
		prev = cur
	}
}

// recovered waits until available memory is back within settleTolerance of base,
// for at most max, and returns the last reading.
func recovered(ctx context.Context, base memory, max time.Duration, dropCaches bool) (memory, error) {
	deadline := time.Now().Add(max)
	for {
		cur, err := readSettling(dropCaches)
		if err != nil {
			return memory{}, err
		}
		if cur.used(base) <= settleTolerance || !time.Now().Before(deadline) {
			return cur, nil
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return memory{}, err
		}
	}
}

func readSettling(dropCaches bool) (memory, error) {
	if dropCaches {
		syscall.Sync()
		if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0); err != nil {
			return memory{}, fmt.Errorf("drop caches: %w", err)
		}
	}
	return readMemory()
}

// sleep waits d or until ctx ends, and then returns its error.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
