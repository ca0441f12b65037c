package config

import "testing"

// TestLendingLeast checks that least is the least limit that lends enough.
func TestLendingLeast(t *testing.T) {
	for _, l := range []lending{{64 << 10, 266240}, {64 << 10, 64<<10 + 1}, {1000, 1001}, {40 << 10, 3072}, {1, 7}, {64 << 10, 233269248}} {
		n := l.least()
		if l.available(n) < l.need() || n > 1 && l.available(n-1) >= l.need() {
			t.Errorf("%+v: least %d lends %d, %d one less; need %d", l, n, l.available(n), l.available(n-1), l.need())
		}
	}
}
