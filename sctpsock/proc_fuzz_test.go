package sctpsock

import "testing"

// FuzzProcTables: the /proc/net/sctp/assocs readers take any text without
// panicking; rows they cannot read are skipped or reported.
func FuzzProcTables(f *testing.F) {
	f.Add(assocsSample, uint64(19961))
	f.Add(" ST INODE RX_QUEUE LPORT RPORT\n1 2 3 4 5\n", uint64(2))
	f.Add("", uint64(0))
	f.Fuzz(func(t *testing.T, table string, inode uint64) {
		procAssocState(table, inode)
		if q, err := parseReceiveQueues(table); err != nil && q != nil {
			t.Fatal("queues with an error")
		}
	})
}
