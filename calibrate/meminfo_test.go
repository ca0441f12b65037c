package calibrate

import (
	"os"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The files in testdata were read in the test VM (Debian's Linux 6.1, 2 GiB).
func TestParseMeminfoLinux61(t *testing.T) {
	m, err := ParseMeminfo(readTestdata(t, "meminfo-linux-6.1.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := Meminfo{Available: 1900804 << 10, Slab: 16720 << 10, SUnreclaim: 7500 << 10}
	if m != want {
		t.Fatalf("got %+v, want %+v", m, want)
	}
}

func TestParseMeminfoErrors(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"empty", "", "no MemAvailable"},
		{"no slab", "MemAvailable: 1 kB\nSUnreclaim: 2 kB\n", "no Slab"},
		{"no unit", "MemAvailable: 1\nSlab: 2 kB\nSUnreclaim: 3 kB\n", `MemAvailable: "1": want a number of kB`},
		{"not a number", "MemAvailable: x kB\nSlab: 2 kB\nSUnreclaim: 3 kB\n", "MemAvailable"},
		{"negative", "MemAvailable: -4 kB\nSlab: 2 kB\nSUnreclaim: 3 kB\n", "MemAvailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseMeminfo(tc.text)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestParsePerCPUFreeLinux61(t *testing.T) {
	pages, err := ParsePerCPUFree(readTestdata(t, "zoneinfo-linux-6.1.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if pages != 0+0+456+2052 {
		t.Fatalf("got %d pages, want the sum of the four pagesets' counts, 2508", pages)
	}
}

func TestParsePerCPUFreeErrors(t *testing.T) {
	if _, err := ParsePerCPUFree("Node 0, zone DMA\n  pages free 3\n"); err == nil {
		t.Error("zoneinfo without pagesets: no error")
	}
	if _, err := ParsePerCPUFree("  pagesets\n    cpu: 0\n    count: many\n"); err == nil {
		t.Error("bad count: no error")
	}
}

func TestParseRssAnon(t *testing.T) {
	n, err := parseRssAnon("Name:\tsctpguard\nVmRSS:\t  9000 kB\nRssAnon:\t    2048 kB\nRssFile:\t 6952 kB\n")
	if err != nil || n != 2048<<10 {
		t.Fatalf("got %d, %v", n, err)
	}
	if _, err := parseRssAnon("Name:\tx\n"); err == nil {
		t.Fatal("no RssAnon: no error")
	}
}

func TestUsedAddsPerCPUPagesAndSubtractsOwnMemory(t *testing.T) {
	base := memory{Meminfo: Meminfo{Available: 100 << 20}, pcp: 20 << 20, anon: 5 << 20}
	// The flood took 10 MiB from the per-CPU lists and 2 MiB from the free
	// lists; this process grew by 1 MiB.
	after := memory{Meminfo: Meminfo{Available: 97 << 20}, pcp: 10 << 20, anon: 6 << 20}
	if got, want := after.used(base), int64(12<<20); got != want {
		t.Fatalf("used %d, want %d", got, want)
	}
}

func FuzzParseMeminfo(f *testing.F) {
	f.Add(readTestdata(f, "meminfo-linux-6.1.txt"))
	f.Add("MemAvailable: 1 kB\nSlab: 2 kB\nSUnreclaim: 3 kB")
	f.Fuzz(func(t *testing.T, text string) {
		m, err := ParseMeminfo(text)
		if err == nil && (m.Available < 0 || m.Slab < 0 || m.SUnreclaim < 0) {
			t.Fatalf("negative size without error: %+v", m)
		}
	})
}

func FuzzParsePerCPUFree(f *testing.F) {
	f.Add(readTestdata(f, "zoneinfo-linux-6.1.txt"))
	f.Fuzz(func(t *testing.T, text string) {
		if n, err := ParsePerCPUFree(text); err == nil && n < 0 {
			t.Fatalf("negative count without error: %d", n)
		}
	})
}
