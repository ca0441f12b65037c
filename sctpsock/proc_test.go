package sctpsock

import "testing"

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
