package sctpsock

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Association states in /proc/net/sctp/assocs (the kernel's enum
// sctp_state, one less than SCTP_STATUS's numbering).
const (
	procCookieWait   = 1
	procCookieEchoed = 2
)

// procAssocState finds the association of the socket with the given inode
// in the text of /proc/net/sctp/assocs and returns its ST column.
func procAssocState(table string, inode uint64) (int, bool) {
	lines := strings.Split(table, "\n")
	if len(lines) == 0 {
		return 0, false
	}
	head := strings.Fields(lines[0])
	stCol, inoCol := indexOf(head, "ST"), indexOf(head, "INODE")
	if stCol < 0 || inoCol < 0 {
		return 0, false
	}
	want := strconv.FormatUint(inode, 10)
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) > max(stCol, inoCol) && f[inoCol] == want {
			st, err := strconv.Atoi(f[stCol])
			return st, err == nil
		}
	}
	return 0, false
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// PortPair names an association on this host by its local and remote ports.
type PortPair struct{ Local, Remote uint16 }

// ReceiveQueues reads /proc/net/sctp/assocs and returns, for every association on
// this host, the bytes its socket's receive queue holds (RX_QUEUE: the kernel's
// true memory, sk_rmem_alloc). The relay uses it to learn whether a receiver on
// this host has consumed what was delivered to it.
func ReceiveQueues() (map[PortPair]int64, error) {
	b, err := os.ReadFile("/proc/net/sctp/assocs")
	if err != nil {
		return nil, fmt.Errorf("receive queues: %w", err)
	}
	return parseReceiveQueues(string(b))
}

func parseReceiveQueues(table string) (map[PortPair]int64, error) {
	lines := strings.Split(table, "\n")
	head := strings.Fields(lines[0])
	rx, lp, rp := indexOf(head, "RX_QUEUE"), indexOf(head, "LPORT"), indexOf(head, "RPORT")
	if rx < 0 || lp < 0 || rp < 0 {
		return nil, fmt.Errorf("receive queues: unexpected header %q", lines[0])
	}
	out := make(map[PortPair]int64, len(lines))
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) <= max(rx, lp, rp) {
			continue
		}
		q, err1 := strconv.ParseInt(f[rx], 10, 64)
		l, err2 := strconv.ParseUint(f[lp], 10, 16)
		r, err3 := strconv.ParseUint(f[rp], 10, 16)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("receive queues: bad row %q", line)
		}
		out[PortPair{uint16(l), uint16(r)}] += q
	}
	return out, nil
}
