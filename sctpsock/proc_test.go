package sctpsock

import (
	"fmt"
	"strings"
	"testing"
)

const assocsSample = ` ASSOC     SOCK   STY SST ST HBKT ASSOC-ID TX_QUEUE RX_QUEUE UID INODE LPORT RPORT LADDRS <-> RADDRS HBINT INS OUTS MAXRT T1X T2X RTXC wmema wmemq sndbuf rcvbuf
ffff8880 ffff8881 1   2   1  1234        1        0        0     0 19961 40000  3868  198.18.0.1 <-> *198.18.0.2 	    7500    10    10    2    0    0        0        1        0   212992   212992
ffff8882 ffff8883 1   1   4  2345        2        0        0     0 19970 3868  40001  127.0.0.1 <-> *127.0.0.1 	    7500    10    10    2    0    0        0        1        0   212992   212992
`

func TestProcAssocState(t *testing.T) {
	tests := []struct {
		table string
		inode uint64
		want  int
		ok    bool
	}{
		{assocsSample, 19961, procCookieWait, true},
		{assocsSample, 19970, 4, true},
		{assocsSample, 1, 0, false},
		{"", 1, 0, false},
		{"garbage\n1 2 3\n", 3, 0, false},
		{" ST INODE\nx 7\n", 7, 0, false},
	}
	for _, tt := range tests {
		got, ok := procAssocState(tt.table, tt.inode)
		if got != tt.want || ok != tt.ok {
			t.Errorf("inode %d: got %d, %v; want %d, %v", tt.inode, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseReceiveQueues(t *testing.T) {
	table := ` ASSOC     SOCK   STY SST ST HBKT ASSOC-ID TX_QUEUE RX_QUEUE UID INODE LPORT RPORT LADDRS <-> RADDRS HBINT INS OUTS MAXRT T1X T2X RTXC wmema wmemq sndbuf rcvbuf
ffff8881 ffff8882 2   1   3  0       3        0  1835008     0 12345 9000 40000  127.0.0.1 <-> *127.0.0.1 	    7500    10    10   10    0    0        0        1     0   212992   16777216
ffff8883 ffff8884 2   1   3  0       4     2304        0     0 12346 40000 9000 127.0.0.1 127.0.0.2 <-> *127.0.0.1 	    7500    10    10   10    0    0        0        1     0   212992   212992
`
	q, err := parseReceiveQueues(table)
	if err != nil {
		t.Fatal(err)
	}
	if got := q[PortPair{9000, 40000}]; got != 1835008 {
		t.Errorf("receiver queue = %d, want 1835008", got)
	}
	if got, ok := q[PortPair{40000, 9000}]; !ok || got != 0 {
		t.Errorf("sender queue = %d (%v), want 0", got, ok)
	}
	if _, err := parseReceiveQueues("garbage\n"); err == nil {
		t.Error("a table without the expected header parsed")
	}
	if _, err := parseReceiveQueues(strings.SplitN(table, "\n", 2)[0] + "\nx y z a b c d e NaN f g h i\n"); err == nil {
		t.Error("a bad row parsed")
	}
}

func BenchmarkReceiveQueuesParse(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(" ASSOC     SOCK   STY SST ST HBKT ASSOC-ID TX_QUEUE RX_QUEUE UID INODE LPORT RPORT LADDRS <-> RADDRS HBINT INS OUTS MAXRT T1X T2X RTXC wmema wmemq sndbuf rcvbuf\n")
	for i := range 200 {
		fmt.Fprintf(&sb, "ffff8880 ffff8881 0 10 3 0 %d 0 %d 0 1234 %d %d 127.0.0.1 <-> *127.0.0.1 7500 10 10 10 0 0 0 1 0 212992 212992\n", i, i*100, 40000+i, 3868)
	}
	table := []byte(sb.String())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseReceiveQueuesBytes(table); err != nil {
			b.Fatal(err)
		}
	}
}
