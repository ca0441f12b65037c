package config_test

import (
	"strings"
	"testing"

	"github.com/sctpguard/sctpguard/config"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"0", 0},
		{"4096", 4096},
		{"100B", 100},
		{"1KiB", 1024},
		{"1MiB", 1 << 20},
		{"1 MiB", 1 << 20},
		{" 2GiB ", 2 << 30},
		{"1.5GiB", 3 << 29},
		{"0.5KiB", 512},
		{"8589934591GiB", 8589934591 << 30},
	} {
		got, err := config.ParseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestParseSizeErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "want a number of bytes"},
		{"-1MiB", "must not be negative"},
		{"1.5B", "whole number of bytes"},
		{"0.1KiB", "whole number of bytes"},
		{"1MB", `unit "MB" is ambiguous (1000 or 1024?); use "MiB"`},
		{"1k", `use "KiB"`},
		{"1mib", `did you mean "MiB"?`},
		{"1TiB", `unknown unit "TiB"; use B, KiB, MiB or GiB`},
		{"8589934592GiB", "too large"},
		{"1e6", "want a number of bytes"},
		{"MiB", "want a number of bytes"},
		{"1,024", "want a number of bytes"},
	} {
		_, err := config.ParseSize(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSize(%q) = %v; want an error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 1: "1B", 1536: "1536B", 1 << 10: "1KiB", 3 << 20: "3MiB", 1 << 30: "1GiB", 1 << 40: "1024GiB"} {
		if got := config.FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
		if back, err := config.ParseSize(want); err != nil || back != n {
			t.Errorf("ParseSize(FormatSize(%d)) = %d, %v", n, back, err)
		}
	}
}
