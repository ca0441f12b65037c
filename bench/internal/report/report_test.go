package report

import (
	"bytes"
	"testing"
)

func TestSizeName(t *testing.T) {
	for n, want := range map[int]string{1: "1 B", 100: "100 B", 1024: "1 KiB", 16384: "16 KiB", 1500: "1500 B"} {
		if got := SizeName(n); got != want {
			t.Errorf("SizeName(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestCounts(t *testing.T) {
	got, err := Counts("-sizes", "1, 100,16384", 1, 1<<16)
	if err != nil || len(got) != 3 || got[1] != 100 {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "1,x", "70000"} {
		if _, err := Counts("-sizes", bad, 1, 1<<16); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestWriteMarkdownFramed(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown("iperf", "-", "| a |\n\n", &b); err != nil {
		t.Fatal(err)
	}
	if want := "\n<!-- iperf benchmark: begin -->\n| a |\n<!-- iperf benchmark: end -->\n"; b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}
