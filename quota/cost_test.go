package quota

import "testing"

// linux61 is what `sctpguard calibrate` measured on Linux 6.1 over loopback:
// host memory per message, payload included.
var linux61 = []struct {
	payload int
	cost    int64
}{
	{1, 1790}, {100, 1790}, {475, 1800}, {1024, 2800}, {1500, 2815}, {2048, 4860}, {16384, 33500},
}

func TestCostModelCoversMeasured(t *testing.T) {
	m := CostModel{} // the defaults
	for _, p := range linux61 {
		got := m.Cost(p.payload)
		if got < p.cost {
			t.Errorf("Cost(%d) = %d, less than the %d measured on Linux 6.1", p.payload, got, p.cost)
		}
		if got > 2*p.cost {
			t.Errorf("Cost(%d) = %d, more than twice the %d measured on Linux 6.1", p.payload, got, p.cost)
		}
	}
}

func TestCostModel(t *testing.T) {
	tests := []struct {
		name             string
		header, overhead int64
		payload, frag    int
		want             int64
	}{
		{"defaults, 1 byte", 0, 0, 1, 0, 1024 + DefaultOverhead},
		{"defaults, just below a step", 0, 0, 1024 - DefaultHeader, 0, 1024 + DefaultOverhead},
		{"defaults, just above a step", 0, 0, 1025 - DefaultHeader, 0, 2048 + DefaultOverhead},
		{"calibrated, 1 byte", 542, 767, 1, 0, 1024 + 767},
		{"calibrated, 16 KiB", 542, 767, 16 << 10, 0, 32768 + 767},
		{"empty payload takes a chunk", 542, 767, 0, 0, 1024 + 767},
		{"negative payload counts as zero", 542, 767, -3, 0, 1024 + 767},
		{"no rounding", -1, 512, 65536, 0, 65536 + 512},
		{"split in full chunks", 542, 767, 3 * 1452, 1452, 3*(2048+767) + 2048},
		{"split with a rest", 542, 767, 2*1452 + 10, 1452, 2*(2048+767) + 1024 + 767 + 2048},
		{"64 KiB over loopback, as measured on Linux 6.1 (263,808 B)", 542, 767, 64 << 10, 65484, 2*131072 + 1024 + 2*767},
		{"frag above the payload keeps it whole", 542, 767, 1000, 65000, 2048 + 767},
		{"no rounding, split", -1, 100, 3000, 1000, 3000 + 3*100 + 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := CostModel{Header: tt.header, Overhead: tt.overhead}
			if got := m.Chunked(tt.payload, tt.frag); got != tt.want {
				t.Errorf("Chunked(%d, %d) = %d, want %d", tt.payload, tt.frag, got, tt.want)
			}
		})
	}
}

func TestWorst(t *testing.T) {
	tests := []struct {
		name             string
		header, overhead int64
		payload          int
		want             int64
		frag             int // where it costs want; 0: whole
	}{
		{"small, whole", 0, 0, 100, 1024 + DefaultOverhead, 0},
		{"below MinFragment, whole", 0, 0, MinFragment, 2048 + DefaultOverhead, 0},
		// The case: 169,984 B in chunks of MinFragment, 265,216 B over
		// loopback (65,488), and most in chunks of 64,964, the least that takes a
		// 128 KiB buffer, while the rest (572 B) takes 2 KiB rather than 1 KiB.
		{"64 KiB, defaults", 0, 0, 64 << 10, 131072 + DefaultOverhead + 131072 + 2048 + DefaultOverhead, 65536 - DefaultHeader + 4},
		{"64 KiB, calibrated", 542, 767, 64 << 10, 131072 + 767 + 131072 + 2048 + 767, 65536 - 542 + 2},
		// 1 MiB: 710 chunks of 1,476 B, each too large for a 2 KiB buffer, and a
		// rest of 616 B (2 KiB), plus the reassembly buffer (4 KiB).
		{"1 MiB, defaults", 0, 0, 1 << 20, 710*(4096+DefaultOverhead) + 2048 + DefaultOverhead + 4096, 2048 - DefaultHeader + 4},
		{"no rounding: most chunks", -1, 100, 1 << 20, (1 << 20) + 866*100 + MinFragment, MinFragment},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := CostModel{Header: tt.header, Overhead: tt.overhead}
			got, frag := m.WorstSplit(tt.payload)
			if got != tt.want || frag != tt.frag {
				t.Errorf("WorstSplit(%d) = %d, %d; want %d, %d", tt.payload, got, frag, tt.want, tt.frag)
			}
			if w := m.Worst(tt.payload); w != got {
				t.Errorf("Worst(%d) = %d, WorstSplit %d", tt.payload, w, got)
			}
		})
	}
}

// TestWorstCoversEveryPath checks Worst against the cost at fragmentation
// points of real paths, and at points in between for a few sizes.
func TestWorstCoversEveryPath(t *testing.T) {
	m := CostModel{}
	paths := []int{MinFragment, 1500 - 40 - 28, 1500 - 20 - 28, 9000 - 20 - 28, 65484, MaxFragment}
	for _, payload := range []int{1, 1500, 16 << 10, 64 << 10, 100 << 10, 256 << 10, 1 << 20} {
		w := m.Worst(payload)
		if whole := m.Cost(payload); w < whole {
			t.Errorf("Worst(%d) = %d, less than kept whole (%d)", payload, w, whole)
		}
		for _, f := range paths {
			if c := m.Chunked(payload, f); w < c {
				t.Errorf("Worst(%d) = %d, less than in chunks of %d (%d)", payload, w, f, c)
			}
		}
		for f := MinFragment; f <= MaxFragment; f += 25 * FragmentStep {
			if c := m.Chunked(payload, f); w < c {
				t.Errorf("Worst(%d) = %d, less than in chunks of %d (%d)", payload, w, f, c)
			}
		}
	}
}

func TestPow2Ceil(t *testing.T) {
	for _, tt := range [][2]int64{{0, 1}, {1, 1}, {2, 2}, {3, 4}, {1024, 1024}, {1025, 2048}, {1 << 40, 1 << 40}} {
		if got := pow2ceil(tt[0]); got != tt[1] {
			t.Errorf("pow2ceil(%d) = %d, want %d", tt[0], got, tt[1])
		}
	}
}

func TestEffectiveReserve(t *testing.T) {
	tests := []struct {
		limit, reserve, want int64
	}{
		{0, 0, DefaultReserve},
		{1 << 20, 0, DefaultReserve},
		{1000, 0, 1000},
		{1000, 500, 500},
		{1000, 5000, 1000},
		{1000, -1, 0},
		{0, 7, 7},
	}
	for _, tt := range tests {
		if got := effectiveReserve(tt.limit, tt.reserve); got != tt.want {
			t.Errorf("effectiveReserve(%d, %d) = %d, want %d", tt.limit, tt.reserve, got, tt.want)
		}
	}
}
