package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/bench/internal/report"
)

// fakeResults is two rounds of one 100 B × 1 cell and a ping-pong, with
// sctpguard at 1.5x socat and 0.5x direct, half socat's CPU per message and
// socat's latency.
func fakeResults() *results {
	res := newResults()
	k := key{100, 1}
	for _, f := range []float64{1, 1.2} { // round 2 runs 20% faster
		res.addThroughput(k, direct, sample{msgs: 2000 * f, bytes: 200000 * f, reads: 2000 * f})
		res.addThroughput(k, socat, sample{msgs: 666 * f, bytes: 66600 * f, reads: 333 * f, cpuPerM: 100 * time.Second, hasCPU: true, t3: 1, discard: 3})
		res.addThroughput(k, guard, sample{msgs: 1000 * f, bytes: 100000 * f, reads: 1000 * f, cpuPerM: 50 * time.Second, hasCPU: true})
	}
	for _, name := range []string{direct, socat, guard} {
		res.addLatency(name, []time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond}, nil)
	}
	return res
}

func TestTable(t *testing.T) {
	s := settings{sizes: []int{100}, assocs: []int{1}, rounds: 2}
	tab := buildTable("header", s, fakeResults())
	var out bytes.Buffer
	tab.writeText(&out)
	text := squeeze(out.String())
	for _, want := range []string{
		"msg/s 100 B 1 2,200 733* 0.33x 1,100 0.50x 1.50x",
		"relay CPU per 1M msgs 100 B 1 - 100.00 s - 50.00 s - 0.50x",
		"RTT p50 100 B 1 2.00 ms 2.00 ms 1.00x 2.00 ms 1.00x 1.00x",
		"mean size of the messages the server read from socat: 100 B × 1: 200 B",
		"retransmission timeouts while measured, with the DATA chunks receivers discarded (SctpT3RtxExpireds, SctpInDataChunkDiscards; all rounds; such a cell is bound by the kernel's timer): 100 B × 1: socat 2 (6 discarded)",
		"largest msg/s is 1.20x its smallest",
		"throughput >= 1.2x socat, messages <= 1 KiB met: 1 of 1 cells meet it (worst 1.50x at 100 B × 1)",
		"throughput >= 0.45x direct met: 1 of 1 cells meet it (worst 0.50x at 100 B × 1)",
		"relay CPU per message <= 0.8x socat met: 1 of 1 cells meet it (worst 0.50x at 100 B × 1)",
		"RTT p50 <= socat's met: 1 of 1 cells meet it (worst 1.00x at ping-pong)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text table lacks %q:\n%s", want, text)
		}
	}
	out.Reset()
	if err := tab.writeMarkdownTo("-", &out); err != nil {
		t.Fatal(err)
	}
	md := out.String()
	mdBegin, mdEnd := report.Markers("throughput")
	if !strings.Contains(md, "\n"+mdBegin+"\nheader\n") || !strings.HasSuffix(md, "\n"+mdEnd+"\n") {
		t.Errorf("markdown not framed by its markers:\n%s", md)
	}
	if !strings.Contains(md, "| msg/s | 100 B | 1 | 2,200 | 733\\* | 0.33x | 1,100 | 0.50x | 1.50x |") {
		t.Errorf("markdown row missing:\n%s", md)
	}
}

func TestTableMissedAndFailed(t *testing.T) {
	res := newResults()
	k := key{16384, 16}
	res.addThroughput(k, direct, sample{msgs: 1000, bytes: 16384000})
	res.addThroughput(k, socat, sample{msgs: 500, bytes: 8192000, cpuPerM: time.Second, hasCPU: true})
	res.addThroughput(k, guard, sample{err: errors.New("server read: broken\nmore")})
	tab := buildTable("h", settings{sizes: []int{16384}, assocs: []int{16}, rounds: 1}, res)
	var out bytes.Buffer
	tab.writeText(&out)
	text := squeeze(out.String())
	for _, want := range []string{
		"msg/s 16 KiB 16 1,000 500* 0.50x - - -",
		"error: 16 KiB × 16 sctpguard: server read: broken",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text table lacks %q:\n%s", want, text)
		}
	}
	if !res.failed() {
		t.Error("results with an error are not failed")
	}
	var c check
	c.record(0.9, 1.0, false, "a")
	c.record(1.1, 1.0, false, "b")
	if got := c.line("goal"); !strings.Contains(got, "MISSED: 1 of 2 cells meet it (worst 0.90x at a)") {
		t.Errorf("check line = %q", got)
	}
}

// squeeze turns every run of white space into one space, so that tests do
// not depend on column widths.
func squeeze(s string) string { return strings.Join(strings.Fields(s), " ") }

func TestFormats(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{sizeName(1), "1 B"}, {sizeName(1024), "1 KiB"}, {sizeName(65536), "64 KiB"}, {sizeName(1500), "1500 B"},
		{fmtCount(1234567.4), "1,234,567"}, {fmtCount(12), "12"},
		{fmtMB(12_345), "0.0123"}, {fmtMB(1_234_567), "1.23"}, {fmtMB(123_456_789), "123"},
		{fmtRTT(85 * time.Microsecond), "85 µs"}, {fmtRTT(1500 * time.Microsecond), "1.50 ms"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestPercentile(t *testing.T) {
	res := newResults()
	var rtts []time.Duration
	for i := 1; i <= 100; i++ {
		rtts = append(rtts, time.Duration(i))
	}
	res.addLatency(direct, rtts, nil)
	for p, want := range map[float64]time.Duration{50: 50, 99: 99} {
		if got, ok := res.percentile(direct, p); !ok || got != want {
			t.Errorf("p%g = %v, %v; want %v", p, got, ok, want)
		}
	}
	if _, ok := res.percentile(socat, 50); ok {
		t.Error("percentile of no round trips is ok")
	}
}
