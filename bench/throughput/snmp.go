package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// t3Expired is the kernel's count of SCTP retransmission timeouts
// (SctpT3RtxExpireds in /proc/net/sctp/snmp), host-wide. A cell during
// which it grows lost packets (on loopback: a receiver over its buffer)
// and waited at least one RTO for each: its rate is bound by the timer,
// not by the relay.
func t3Expired() (int64, error) {
	f, err := os.Open("/proc/net/sctp/snmp")
	if err != nil {
		return 0, fmt.Errorf("read SCTP counters: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 || f[0] != "SctpT3RtxExpireds" {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read SCTP counters: SctpT3RtxExpireds: %w", err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("read SCTP counters: /proc/net/sctp/snmp has no SctpT3RtxExpireds")
}
