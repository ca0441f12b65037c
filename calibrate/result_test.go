package calibrate

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sctpguard/sctpguard/config"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{7}, 7},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{1800, 100, 1790, 1810, 9000}, 1800}, // one noisy round each way
	} {
		in := append([]float64(nil), tc.in...)
		if got := Median(tc.in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
		}
		for i := range in {
			if in[i] != tc.in[i] {
				t.Fatalf("Median reordered its input: %v", tc.in)
			}
		}
	}
}

func TestRoundUp(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want int64
	}{{1, 64}, {64, 64}, {64.01, 128}, {1791, 1792}, {1792, 1792}, {2322.4, 2368}} {
		if got := RoundUp(tc.v, Granularity); got != tc.want {
			t.Errorf("RoundUp(%v, %d) = %d, want %d", tc.v, Granularity, got, tc.want)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{1: "1B", 1856: "1856B", 2048: "2KiB", 2368: "2368B", 1 << 20: "1MiB", 3 << 30: "3GiB", 0: "0B"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestConfigBlockParses checks that the printed block, appended to a config
// with a relay, is accepted and sets both cost fields.
func TestConfigBlockParses(t *testing.T) {
	for _, tc := range []struct{ header, overhead int64 }{{544, 768}, {1, 64}, {576, 1024}, {120, 1856}} {
		block := ConfigBlock(tc.header, tc.overhead)
		cfg := parseWithRelay(t, block)
		if cfg.Cost.Header != tc.header || cfg.Cost.Overhead != tc.overhead {
			t.Errorf("%s: cost.header %d, cost.overhead %d; want %d, %d", block, cfg.Cost.Header, cfg.Cost.Overhead, tc.header, tc.overhead)
		}
	}
	want := "cost {\n  header   = \"544B\"\n  overhead = \"768B\"\n}"
	if got := ConfigBlock(544, 768); got != want {
		t.Errorf("ConfigBlock(544, 768) =\n%s\nwant\n%s", got, want)
	}
}

// parseWithRelay parses block after a minimal relay, as a user appending
// it to a file would.
func parseWithRelay(t *testing.T, block string) *config.Config {
	t.Helper()
	src := "relay \"r\" {\n  listen = [\"127.0.0.1:3868\"]\n  upstream = [\"127.0.0.1:3869\"]\n}\n" + block + "\n"
	cfg, err := config.Parse([]byte(src), "calibrated.hcl")
	if err != nil {
		t.Fatalf("the block does not parse: %v\n%s", err, src)
	}
	return cfg
}

func sizeResult(payload int, perMessage float64) SizeResult {
	return SizeResult{Payload: payload, Overhead: perMessage - float64(payload), PerMessage: perMessage, Messages: 20000}
}

func TestSummarizeTakesMedians(t *testing.T) {
	rounds := []Round{
		{Messages: 20000, HostUsed: 36 << 20, KernelClaimed: 4 << 20, Overhead: 1886, Slab: 35 << 20},
		{Messages: 20000, HostUsed: 34 << 20, KernelClaimed: 4 << 20, Overhead: 1782, Slab: 34 << 20},
		{Messages: 10000, HostUsed: 1 << 20, KernelClaimed: 2 << 20, Overhead: 104, Slab: 17 << 20}, // noise
	}
	s := summarize(1, rounds)
	if s.Messages != 20000 || s.HostUsed != 34<<20 || s.Overhead != 1782 || s.Slab != 34<<20 || s.KernelClaimed != 4<<20 {
		t.Fatalf("%+v", s)
	}
	if s.Undercount != 8.5 { // medians of 9, 8.5 and 0.5
		t.Errorf("undercount %v, want 8.5", s.Undercount)
	}
}

func testReport(t *testing.T) *Report {
	t.Helper()
	rep := &Report{
		Kernel:   "6.1.0-56-amd64",
		Fragment: LoopbackFragment,
		Sizes:    linux61Sizes(),
		Steps:    linux61Steps(),
	}
	rep.Sizes[0].Undercount = 7.7
	o := Options{}
	o.applyDefaults()
	c := &calibration{o: o, rep: rep}
	if err := c.recommend(); err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestWriteTextEndsWithTheBlock(t *testing.T) {
	var b bytes.Buffer
	rep := testReport(t)
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.HasSuffix(out, "\n"+rep.Block+"\n") || !strings.HasPrefix(rep.Block, "cost {") {
		t.Fatalf("output does not end with the block:\n%s", out)
	}
	parseWithRelay(t, out[strings.LastIndex(out, "cost {"):])
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	expl := lines[len(lines)-5]
	for _, want := range []string{"# on Linux 6.1.0-56-amd64", "pow2ceil(n+544 B) + 768 B", "right above 480B, in the cost step located between 480B and 488B", "1/7.7"} {
		if !strings.Contains(expl, want) {
			t.Errorf("explanation lacks %q: %s", want, expl)
		}
	}
	for _, want := range []string{"charged", "ratio", "16KiB", "33536 B", "1.00", "cost step located: between 480B and 488B"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestOverchargeNote(t *testing.T) {
	o := Options{}
	o.applyDefaults()
	// A 2000 B message that held 200 kB (one bad reading) sets an overhead
	// that charges 1 B messages a hundred times what they hold.
	rep := &Report{Kernel: "fake", Fragment: LoopbackFragment, Sizes: []SizeResult{
		sizeResult(1, 1791), sizeResult(2000, 200000),
	}}
	c := &calibration{o: o, rep: rep}
	if err := c.recommend(); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, n := range rep.Notes {
		found = found || strings.Contains(n, "the cost model overcharges them")
	}
	if !found {
		t.Errorf("no overcharge note; charged %+v, notes %q", rep.Sizes, rep.Notes)
	}
}

func TestWriteJSONRoundTrips(t *testing.T) {
	var b bytes.Buffer
	rep := testReport(t)
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Header     int64  `json:"header_bytes"`
		Overhead   int64  `json:"overhead_bytes"`
		Block      string `json:"config_block"`
		ConfigLine string `json:"config_line"`
		Sizes      []struct {
			Payload int   `json:"payload_bytes"`
			Charged int64 `json:"charged_bytes"`
		} `json:"sizes"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Header != 544 || got.Overhead != 768 || got.Block != rep.Block || got.ConfigLine != rep.Block ||
		len(got.Sizes) != len(rep.Sizes) || got.Sizes[0].Charged != 1024+768 {
		t.Fatalf("%+v\n%s", got, b.String())
	}
}

func TestOptionsValidate(t *testing.T) {
	if err := (Options{}).Validate(); err != nil {
		t.Fatalf("zero Options: %v", err)
	}
	err := Options{Sizes: []int{0, 1 << 20}, Messages: -1, MaxMem: 1 << 20}.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"sizes: 0", "sizes: 1048576", "messages: -1", "max memory"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}
