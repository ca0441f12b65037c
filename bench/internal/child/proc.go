package child

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Status reads numeric fields of /proc/PID/status, such as "VmRSS" (in bytes;
// the file says kB) and "Threads".
func Status(pid int, fields ...string) (map[string]int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return nil, fmt.Errorf("read process status: %w", err)
	}
	out := make(map[string]int64, len(fields))
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || !slices.Contains(fields, name) {
			continue
		}
		v := strings.TrimSpace(rest)
		kb := strings.HasSuffix(v, " kB")
		n, err := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("read process status: %s: %w", name, err)
		}
		if kb {
			n <<= 10
		}
		out[name] = n
	}
	for _, f := range fields {
		if _, ok := out[f]; !ok {
			return nil, fmt.Errorf("read process status: no %s in /proc/%d/status", f, pid)
		}
	}
	return out, nil
}
