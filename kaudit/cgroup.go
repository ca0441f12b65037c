package kaudit

import (
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

const cgroupSubject = "memory cgroup"

// unlimitedV1 is where cgroup v1 starts to mean "no limit": the kernel
// reports PAGE_COUNTER_MAX pages, just under 2^63 bytes.
const unlimitedV1 = 1 << 62

// checkCgroup reports whether a memory cgroup limit bounds this process: the
// backstop if sctpguard's accounting were wrong, since cgroup v2 charges
// socket buffers to the cgroup of the socket's owner.
func (a Auditor) checkCgroup(add func(...Finding), q Quotas) {
	b, err := fs.ReadFile(a.FS, "proc/self/cgroup")
	if err != nil {
		add(Finding{Severity: Warn, Subject: cgroupSubject, Message: fmt.Sprintf("cannot audit: %v", err)})
		return
	}
	v2, v1 := cgroupPaths(string(b))
	switch { // a v1 memory controller wins: on hybrid hosts v2 has none
	case v1 != "":
		add(a.limitFinding(q, v1, a.cgroupV1Limit(v1)))
	case v2 != "":
		add(a.limitFinding(q, v2, a.cgroupV2Limit(v2)))
	default:
		add(Finding{Severity: Warn, Subject: cgroupSubject,
			Message: "this process is in no memory cgroup (/proc/self/cgroup lists none): nothing but sctpguard's own accounting bounds the memory it and its sockets hold",
			Hint:    memoryMaxHint(q)})
	}
}

// cgroupPaths returns the process's cgroup v2 path and its v1 memory
// controller path from /proc/self/cgroup; either may be empty.
func cgroupPaths(s string) (v2, v1 string) {
	for line := range strings.Lines(s) {
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2 = parts[2]
		}
		for c := range strings.SplitSeq(parts[1], ",") {
			if c == "memory" {
				v1 = parts[2]
			}
		}
	}
	return v2, v1
}

// limit is the tightest memory limit found for a cgroup.
type limit struct {
	bytes int64  // 0: none
	at    string // the cgroup that sets it
	file  string // the file read, for messages
	v2    bool
	err   error
}

// cgroupV2Limit walks from the process's cgroup to the root, taking the
// smallest memory.max: a parent's limit binds its children too.
func (a Auditor) cgroupV2Limit(cg string) limit {
	best := limit{file: "memory.max", v2: true}
	for p := path.Clean("/" + cg); p != "/"; p = path.Dir(p) {
		b, err := fs.ReadFile(a.FS, "sys/fs/cgroup"+p+"/memory.max")
		if err != nil {
			continue // the memory controller is not enabled at this level
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			continue
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return limit{file: "memory.max", v2: true, at: p, err: fmt.Errorf("/sys/fs/cgroup%s/memory.max holds %q", p, s)}
		}
		if best.bytes == 0 || n < best.bytes {
			best.bytes, best.at = n, p
		}
	}
	return best
}

func (a Auditor) cgroupV1Limit(cg string) limit {
	p := "sys/fs/cgroup/memory" + path.Clean("/"+cg) + "/memory.limit_in_bytes"
	l := limit{file: "memory.limit_in_bytes", at: path.Clean("/" + cg)}
	b, err := fs.ReadFile(a.FS, p)
	if err != nil {
		l.err = fmt.Errorf("read /%s: %w", p, err)
		return l
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		l.err = fmt.Errorf("/%s: %w", p, err)
	} else if n < unlimitedV1 {
		l.bytes = n
	}
	return l
}

func (a Auditor) limitFinding(q Quotas, cg string, l limit) Finding {
	f := Finding{Severity: Warn, Subject: cgroupSubject}
	switch {
	case l.err != nil:
		f.Message = fmt.Sprintf("cannot audit: %v", l.err)
	case l.bytes == 0 && l.v2:
		f.Message = fmt.Sprintf("memory.max = max on %s and its parents: if sctpguard's accounting were ever wrong, nothing would stop the memory it and its sockets hold (cgroup v2 charges socket buffers to their owner)", cg)
		f.Hint = memoryMaxHint(q)
	case l.bytes == 0:
		f.Message = fmt.Sprintf("memory.limit_in_bytes is unlimited on %s (cgroup v1): if sctpguard's accounting were ever wrong, nothing would stop the memory it holds", cg)
		f.Hint = memoryMaxHint(q)
	case q.Global > 0 && l.bytes < q.Global:
		f.Message = fmt.Sprintf("%s = %d (%s) on %s is below quota.global (%s): the kernel's OOM killer would end sctpguard before its quota blocks writers", l.file, l.bytes, size(l.bytes), l.at, size(q.Global))
		f.Hint = "raise MemoryMax= above quota.global, or lower quota.global"
	default:
		f.Severity = Info
		f.Message = fmt.Sprintf("%s = %d (%s) on %s bounds sctpguard's memory%s", l.file, l.bytes, size(l.bytes), l.at, sockNote(l.v2))
	}
	return f
}

// memoryMaxHint suggests a systemd MemoryMax a quarter and 64 MiB above the
// global quota, headroom for the Go runtime and buffers in flight.
func memoryMaxHint(q Quotas) string {
	if q.Global <= 0 {
		return "run sctpguard under systemd with MemoryMax= a little above quota.global"
	}
	const mib = 1 << 20
	m := (q.Global + q.Global/4 + 64*mib + mib - 1) / mib
	return fmt.Sprintf("run sctpguard under systemd with MemoryMax= above quota.global (%s), e.g. MemoryMax=%dM in [Service]", size(q.Global), m)
}

func sockNote(v2 bool) string {
	if v2 {
		return ", socket buffers included"
	}
	return ""
}
