package admin

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func TestWriteTableGolden(t *testing.T) {
	var got bytes.Buffer
	if err := WriteTable(&got, sampleStatus()); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "status.golden")
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestWriteTableGolden -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("table differs from %s (-update rewrites it)\ngot:\n%s\nwant:\n%s", golden, got.Bytes(), want)
	}
}

func TestWriteTableEmpty(t *testing.T) {
	var got bytes.Buffer
	st := Status{Version: "0.1.0", Started: time.Date(2025, 11, 25, 8, 0, 0, 0, time.UTC)}
	if err := WriteTable(&got, st); err != nil {
		t.Fatal(err)
	}
	want := "sctpguard 0.1.0, started 2025-11-25T08:00:00Z, 0 associations (↑ toward upstream, ↓ toward front)\n" +
		"budget in use/limit: global 0B/unlimited\n\nno associations\n"
	if got.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", got.String(), want)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteTableReportsWriteError(t *testing.T) {
	if err := WriteTable(failWriter{}, sampleStatus()); err == nil || err.Error() != "disk full" {
		t.Errorf("WriteTable = %v, want disk full", err)
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0B", 1023: "1023B", 1024: "1KiB", 1536: "1.5KiB", 2049: "2KiB",
		100 << 10: "100KiB", 1<<20 - 1: "1024KiB", 12<<20 + 300<<10: "12.3MiB",
		256 << 20: "256MiB", 3 << 30: "3GiB", 5 << 40: "5TiB", -2048: "-2KiB",
	} {
		if got := size(n); got != want {
			t.Errorf("size(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", -time.Second: "0s", time.Microsecond: "<1ms", 350 * time.Millisecond: "350ms",
		time.Second: "1s", 12500 * time.Millisecond: "12.5s", 3*time.Minute + 4*time.Second: "3m04s",
		2*time.Hour + 5*time.Minute + 59*time.Second: "2h05m", 26 * time.Hour: "1d02h",
	} {
		if got := duration(d); got != want {
			t.Errorf("duration(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestWriteTableShared: a one_to_many relay's summary names its shared socket.
func TestWriteTableShared(t *testing.T) {
	var got bytes.Buffer
	st := Status{Version: "0.1.0", Started: time.Date(2025, 11, 25, 8, 0, 0, 0, time.UTC),
		Relays: []RelayStatus{{Name: "m3ua", Budget: Budget{Limit: 16 << 20, Used: 1 << 20}, ListenStyle: "one_to_many",
			Shared: &SharedSocket{Associations: 4, Queued: 96 << 10, KernelRecv: 2048, KernelSend: -1, Stalls: 2, Stalled: 1500 * time.Millisecond}}}}
	if err := WriteTable(&got, st); err != nil {
		t.Fatal(err)
	}
	want := "relay m3ua 1MiB/16MiB (one_to_many socket: 4 associations, 96KiB queued, kernel 2KiB/?, 2 stalls 1.5s)"
	if !strings.Contains(got.String(), want) {
		t.Errorf("got:\n%s\nwant a line with:\n%s", got.String(), want)
	}
}

// TestUpstreamCell: a transparent relay's row names the destination the
// application asked for when the peer has more addresses than that one.
func TestUpstreamCell(t *testing.T) {
	for _, tc := range []struct {
		a    AssocStatus
		want string
	}{
		{AssocStatus{Upstream: "192.0.2.10:3868"}, "192.0.2.10:3868"},
		{AssocStatus{Upstream: "192.0.2.10:3868", OriginalDst: "192.0.2.10:3868"}, "192.0.2.10:3868"},
		{AssocStatus{Upstream: "[192.0.2.10:3868 198.51.100.10:3868]", OriginalDst: "192.0.2.10:3868"},
			"[192.0.2.10:3868 198.51.100.10:3868] (asked 192.0.2.10:3868)"},
		{AssocStatus{}, "-"},
	} {
		if got := upstreamCell(tc.a); got != tc.want {
			t.Errorf("upstreamCell(%+v) = %q, want %q", tc.a, got, tc.want)
		}
	}
}
