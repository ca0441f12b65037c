package main

import (
	"strings"
	"testing"
)

func TestParseLosses(t *testing.T) {
	text := "SctpCurrEstab                   \t3\nSctpT3RtxExpireds               \t17\nSctpInDataChunkDiscards         \t5\nSctpInPktDiscards               \t9\n"
	l, err := parseLosses(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if l != (losses{t3: 17, discards: 5}) {
		t.Errorf("parsed %+v, want t3 17 and 5 discards", l)
	}
	if d := (losses{t3: 20, discards: 9}).sub(l); d != (losses{t3: 3, discards: 4}) {
		t.Errorf("difference %+v, want 3 and 4", d)
	}
	for _, bad := range []string{
		"SctpT3RtxExpireds 1\n",
		"SctpT3RtxExpireds x\nSctpInDataChunkDiscards 1\n",
	} {
		if _, err := parseLosses(strings.NewReader(bad)); err == nil {
			t.Errorf("%q parsed without an error", bad)
		}
	}
}
