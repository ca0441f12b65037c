package admin

import (
	"os"
	"syscall"
	"testing"
)

func TestAccessAllows(t *testing.T) {
	daemon := access{self: 999, gid: 4242, group: "sctpguard", readGid: -1}
	private := access{self: 999, gid: -1, readGid: -1}
	split := access{self: 999, gid: 4242, group: "ops", readGid: 4343, readGroup: "monitor"}
	for _, tc := range []struct {
		name string
		a    access
		p    peer
		want bool
	}{
		{"root", private, peer{uid: 0, gid: 1}, true},
		{"daemon's user", private, peer{uid: 999, gid: 1}, true},
		{"other user, no group configured", private, peer{uid: 1000, gid: 4242, groups: []uint32{4242}}, false},
		{"primary group", daemon, peer{uid: 1000, gid: 4242}, true},
		{"supplementary group", daemon, peer{uid: 1000, gid: 1000, groups: []uint32{27, 4242}}, true},
		{"other group", daemon, peer{uid: 1000, gid: 1000, groups: []uint32{27}}, false},
	} {
		for _, c := range []class{classRead, classChange} {
			if got := tc.a.allows(tc.p, c); got != tc.want {
				t.Errorf("%s: allows(%d) = %t, want %t", tc.name, c, got, tc.want)
			}
		}
	}
	// With a read group: its members read and may not change; the full
	// group's members do both.
	for _, tc := range []struct {
		name         string
		p            peer
		read, change bool
	}{
		{"read group member", peer{uid: 1000, gid: 1000, groups: []uint32{4343}}, true, false},
		{"full group member", peer{uid: 1001, gid: 4242, groups: []uint32{4343}}, true, true},
		{"daemon's user", peer{uid: 999, gid: 1}, true, true},
		{"neither", peer{uid: 1002, gid: 1002}, false, false},
	} {
		if got := split.allows(tc.p, classRead); got != tc.read {
			t.Errorf("%s: may read = %t, want %t", tc.name, got, tc.read)
		}
		if got := split.allows(tc.p, classChange); got != tc.change {
			t.Errorf("%s: may change = %t, want %t", tc.name, got, tc.change)
		}
	}
}

func TestAccessHint(t *testing.T) {
	for _, tc := range []struct {
		a    access
		want string
	}{
		{access{self: 0, gid: -1, readGid: -1}, "run as root"},
		{access{self: 0, gid: 7, group: "sctpguard", readGid: -1}, "run as root or as a member of group sctpguard"},
		{access{self: 4000000000, gid: 7, group: "ops", readGid: -1}, "run as root, as user 4000000000 or as a member of group ops"},
	} {
		if got := tc.a.hint(classChange); got != tc.want {
			t.Errorf("hint = %q, want %q", got, tc.want)
		}
	}
}

func gidOf(t *testing.T, path string) uint32 {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Gid
}
