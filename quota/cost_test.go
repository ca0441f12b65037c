package quota

import "testing"

func TestCostModel(t *testing.T) {
	tests := []struct {
		name     string
		overhead int64
		payload  int
		want     int64
	}{
		{"zero overhead uses default", 0, 1, 1 + DefaultOverhead},
		{"negative overhead uses default", -5, 100, 100 + DefaultOverhead},
		{"calibrated overhead", 1800, 1, 1801},
		{"empty payload", 1800, 0, 1800},
		{"negative payload counts as zero", 1800, -3, 1800},
		{"large payload", 512, 65536, 66048},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := CostModel{Overhead: tt.overhead}
			if got := m.Cost(tt.payload); got != tt.want {
				t.Errorf("Cost(%d) = %d, want %d", tt.payload, got, tt.want)
			}
		})
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
