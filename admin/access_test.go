package admin

import (
	"os"
	"syscall"
	"testing"
)

func TestAccessAllows(t *testing.T) {
	daemon := access{self: 999, gid: 4242, group: "sctpguard"}
	private := access{self: 999, gid: -1}
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
		if got := tc.a.allows(tc.p); got != tc.want {
			t.Errorf("%s: allows = %t, want %t", tc.name, got, tc.want)
		}
	}
}

func TestAccessHint(t *testing.T) {
	for _, tc := range []struct {
		a    access
		want string
	}{
		{access{self: 0, gid: -1}, "run as root"},
		{access{self: 0, gid: 7, group: "sctpguard"}, "run as root or as a member of group sctpguard"},
		{access{self: 4000000000, gid: 7, group: "ops"}, "run as root, as user 4000000000 or as a member of group ops"},
	} {
		if got := tc.a.hint(); got != tc.want {
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
