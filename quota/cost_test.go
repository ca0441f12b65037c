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
	m := CostModel{Header: 542, Overhead: 767}
	// 1 MiB whole: a 2 MiB buffer; in 1212-byte chunks: 866 chunks of 2048+767
	// and a reassembly buffer.
	whole, split := m.Cost(1<<20), m.Chunked(1<<20, MinFragment)
	if whole != 2<<20+767 || split <= whole {
		t.Fatalf("whole %d, split %d: want 2 MiB+767 and more when split", whole, split)
	}
	if got := m.Worst(1 << 20); got != split {
		t.Errorf("Worst(1 MiB) = %d, want the split cost %d", got, split)
	}
	if got := m.Worst(100); got != m.Cost(100) {
		t.Errorf("Worst(100) = %d, want %d", got, m.Cost(100))
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
