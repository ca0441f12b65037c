package calibrate

import (
	"bytes"
	"encoding/json"
	"errors"
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

// TestConfigLineParses checks that the printed line, pasted into a config
// with a relay, is accepted and sets cost.overhead to the recommendation.
func TestConfigLineParses(t *testing.T) {
	for _, overhead := range []int64{64, 1856, 2048, 2368} {
		line := ConfigLine(overhead)
		src := "relay \"r\" {\n  listen = [\"127.0.0.1:3868\"]\n  upstream = [\"127.0.0.1:3869\"]\n}\n" + line + "\n"
		cfg, err := config.Parse([]byte(src), "calibrated.hcl")
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if cfg.Cost.Overhead != overhead {
			t.Errorf("%s: cost.overhead %d, want %d", line, cfg.Cost.Overhead, overhead)
		}
	}
	if got, want := ConfigLine(1856), `cost { overhead = "1856B" }`; got != want {
		t.Errorf("ConfigLine(1856) = %s, want %s", got, want)
	}
}

func sizeResult(payload int, overhead float64) SizeResult {
	return SizeResult{Payload: payload, Overhead: overhead, PerMessage: float64(payload) + overhead}
}

func TestRecommend(t *testing.T) {
	sizes := []SizeResult{sizeResult(1, 1791), sizeResult(100, 1681), sizeResult(1024, 1781), sizeResult(16384, 17116)}
	for _, tc := range []struct {
		name  string
		sizes []SizeResult
		steps []Step
		want  int64
		worst Worst
	}{
		{"small sizes only", sizes, nil, 1792, Worst{Payload: 1, Overhead: 1791}},
		{"a step between them counts", sizes, []Step{{Below: 475, Above: 489, CostBelow: 1781, CostAbove: 2798, Overhead: 2798 - 476}},
			2368, Worst{Payload: 476, Overhead: 2322, Step: true}},
		{"a step above the small sizes does not", sizes, []Step{{Below: 1500, Above: 1510, Overhead: 3300}}, 1792, Worst{Payload: 1, Overhead: 1791}},
		{"no small size: all count", []SizeResult{sizeResult(4096, 4827), sizeResult(16384, 17116)}, nil, 17152, Worst{Payload: 16384, Overhead: 17116}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, worst, err := Recommend(tc.sizes, tc.steps)
			if err != nil || got != tc.want || worst != tc.worst {
				t.Fatalf("got %d %+v %v, want %d %+v", got, worst, err, tc.want, tc.worst)
			}
		})
	}
}

func TestRecommendRefusesNoise(t *testing.T) {
	_, _, err := Recommend([]SizeResult{sizeResult(1, -30), sizeResult(100, 0)}, nil)
	if !errors.Is(err, ErrNoOverhead) {
		t.Fatalf("got %v, want ErrNoOverhead", err)
	}
	if _, _, err := Recommend([]SizeResult{sizeResult(1, 5<<20)}, nil); err == nil || !strings.Contains(err.Error(), "more than cost.overhead allows") {
		t.Fatalf("5 MiB per message: %v", err)
	}
	if _, _, err := Recommend(nil, nil); err == nil {
		t.Fatal("nothing measured: no error")
	}
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

func testReport() *Report {
	rep := &Report{
		Kernel: "6.1.0-56-amd64",
		Sizes:  []SizeResult{sizeResult(1, 1791), sizeResult(16384, 17116)},
		Steps:  []Step{{Below: 475, Above: 489, CostBelow: 1781, CostAbove: 2798, Overhead: 2322}},
		Notes:  []string{"16KiB messages hold more"},
	}
	rep.Sizes[0].Undercount = 7.7
	rep.Overhead, rep.Worst, _ = Recommend(rep.Sizes, rep.Steps)
	rep.ConfigLine = ConfigLine(rep.Overhead)
	o := Options{}
	o.applyDefaults()
	rep.Explanation = explain(rep, o, rep.Worst)
	return rep
}

func TestWriteTextEndsWithTheLine(t *testing.T) {
	var b bytes.Buffer
	if err := testReport().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if last := lines[len(lines)-1]; last != `cost { overhead = "2368B" }` {
		t.Fatalf("last line %q\n%s", last, b.String())
	}
	expl := lines[len(lines)-2]
	for _, want := range []string{"# on Linux 6.1.0-56-amd64", "just above 475B", "up to 2322 B", "1/7.7"} {
		if !strings.Contains(expl, want) {
			t.Errorf("explanation lacks %q: %s", want, expl)
		}
	}
	for _, want := range []string{"payload", "16KiB", "cost step: between 475B and 489B", "note: 16KiB messages hold more"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}

func TestWriteJSONRoundTrips(t *testing.T) {
	var b bytes.Buffer
	rep := testReport()
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Overhead   int64  `json:"overhead_bytes"`
		ConfigLine string `json:"config_line"`
		Worst      Worst  `json:"worst"`
		Sizes      []struct {
			Payload int `json:"payload_bytes"`
		} `json:"sizes"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Overhead != 2368 || got.ConfigLine != rep.ConfigLine || !got.Worst.Step || len(got.Sizes) != 2 {
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
