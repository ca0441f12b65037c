package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// key names a throughput cell.
type key struct{ size, assocs int }

// results collects every round's measurements.
type results struct {
	tput map[key]map[string][]sample
	rtts map[string][]time.Duration // pooled over rounds
	errs []string                   // one line per failed measurement
}

func newResults() *results {
	return &results{tput: map[key]map[string][]sample{}, rtts: map[string][]time.Duration{}}
}

func (r *results) addThroughput(k key, name string, s sample) {
	if r.tput[k] == nil {
		r.tput[k] = map[string][]sample{}
	}
	r.tput[k][name] = append(r.tput[k][name], s)
	if s.err != nil {
		r.errs = append(r.errs, fmt.Sprintf("%s × %d %s: %v", sizeName(k.size), k.assocs, name, firstLine(s.err)))
	}
}

func (r *results) addLatency(name string, rtts []time.Duration, err error) {
	if err != nil {
		r.errs = append(r.errs, fmt.Sprintf("ping-pong %s: %v", name, firstLine(err)))
		return // a cut-short run is not a distribution
	}
	r.rtts[name] = append(r.rtts[name], rtts...)
}

func (r *results) failed() bool { return len(r.errs) > 0 }

// median is the median of every field over the rounds without an error;
// ok is false when every round failed.
func (r *results) median(k key, name string) (sample, bool) {
	var good []sample
	for _, s := range r.tput[k][name] {
		if s.err == nil {
			good = append(good, s)
		}
	}
	if len(good) == 0 {
		return sample{}, false
	}
	field := func(get func(sample) float64) float64 {
		v := make([]float64, len(good))
		for i, s := range good {
			v[i] = get(s)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	m := sample{
		msgs:  field(func(s sample) float64 { return s.msgs }),
		bytes: field(func(s sample) float64 { return s.bytes }),
		reads: field(func(s sample) float64 { return s.reads }),
	}
	var cpu []sample
	for _, s := range good {
		m.t3 += s.t3
		m.discard += s.discard
		if s.hasCPU {
			cpu = append(cpu, s)
		}
	}
	if len(cpu) > 0 {
		good, m.hasCPU = cpu, true // rounds in which nothing was relayed have no CPU per message
		m.cpuPerM = time.Duration(field(func(s sample) float64 { return float64(s.cpuPerM) }))
	}
	return m, true
}

// spread is the largest msg/s of a cell and path over its smallest, over
// the rounds without an error; ok is false with fewer than two such rounds
// or a round in which nothing arrived.
func (r *results) spread(k key, name string) (float64, bool) {
	lo, hi, n := 0.0, 0.0, 0
	for _, s := range r.tput[k][name] {
		if s.err != nil {
			continue
		}
		if n == 0 || s.msgs < lo {
			lo = s.msgs
		}
		if n == 0 || s.msgs > hi {
			hi = s.msgs
		}
		n++
	}
	if n < 2 || lo == 0 {
		return 0, false
	}
	return hi / lo, true
}

// percentile is the p-th percentile (0 < p < 100) of name's round trips,
// nearest rank.
func (r *results) percentile(name string, p float64) (time.Duration, bool) {
	v := r.rtts[name]
	if len(v) == 0 {
		return 0, false
	}
	s := slices.Clone(v)
	slices.Sort(s)
	i := int(p/100*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)], true
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
