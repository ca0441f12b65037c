package main

import (
	"errors"
	"strings"
	"testing"
)

func TestParseResult(t *testing.T) {
	bps, err := parseResult([]byte(`{"start":{},"end":{"sum_sent":{"bits_per_second":2.5e9},"sum_received":{"bits_per_second":2.4e9}}}`))
	if err != nil || bps != 2.4e9 {
		t.Fatalf("got %v, %v; want 2.4e9 received", bps, err)
	}
	for _, in := range []string{`{"error":"unable to connect to server: Connection refused"}`, `{"end":{}}`, `iperf3: error`} {
		if _, err := parseResult([]byte(in)); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
}

func TestTableRatiosAndTargets(t *testing.T) {
	s := settings{sizes: []int{1024}, parallel: []int{1}, secs: 3, omit: 1, rounds: 3}
	res := results{}
	k := key{1024, 1}
	for _, v := range []float64{100e6, 300e6, 200e6} {
		res.add(k, direct, sample{bps: v})
	}
	res.add(k, socat, sample{bps: 50e6})
	res.add(k, guard, sample{bps: 70e6})
	res.add(k, guard, sample{err: errors.New("iperf3: boom")})
	tb := buildTable(s, res)
	want := []string{"1 KiB", "1", "200.0", "50.0", "0.25x", "70.0", "0.35x", "1.40x"}
	if strings.Join(tb.rows[0], "|") != strings.Join(want, "|") {
		t.Fatalf("row %v, want %v", tb.rows[0], want)
	}
	if len(tb.errs) != 1 || !strings.Contains(tb.targets[0], "1 of 1") || !strings.Contains(tb.targets[1], "0 of 1") {
		t.Fatalf("errs %v, targets %v", tb.errs, tb.targets)
	}
}
