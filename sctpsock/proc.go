package sctpsock

import (
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
