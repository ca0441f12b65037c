package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// losses are the host's SCTP counters that say a cell lost packets
// (/proc/net/sctp/snmp): retransmission timeouts (SctpT3RtxExpireds) and
// DATA chunks a receiver discarded (SctpInDataChunkDiscards: no room in its
// window or buffer). A cell during which they grow waited at least one RTO
// for what was lost: its rate is bound by the timer, not by the relay.
type losses struct {
	t3       int64
	discards int64
}

func (l losses) sub(o losses) losses {
	return losses{t3: l.t3 - o.t3, discards: l.discards - o.discards}
}

// readLosses reads the host's losses.
func readLosses() (losses, error) {
	f, err := os.Open("/proc/net/sctp/snmp")
	if err != nil {
		return losses{}, fmt.Errorf("read SCTP counters: %w", err)
	}
	defer f.Close()
	return parseLosses(f)
}

// parseLosses reads losses from the text of /proc/net/sctp/snmp.
func parseLosses(r io.Reader) (losses, error) {
	var l losses
	found := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		var dst *int64
		switch f[0] {
		case "SctpT3RtxExpireds":
			dst = &l.t3
		case "SctpInDataChunkDiscards":
			dst = &l.discards
		default:
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return losses{}, fmt.Errorf("read SCTP counters: %s: %w", f[0], err)
		}
		*dst = n
		found++
	}
	if err := sc.Err(); err != nil {
		return losses{}, fmt.Errorf("read SCTP counters: %w", err)
	}
	if found != 2 {
		return losses{}, fmt.Errorf("read SCTP counters: /proc/net/sctp/snmp lacks SctpT3RtxExpireds or SctpInDataChunkDiscards")
	}
	return l, nil
}
