package integration

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/admin"
	"github.com/sctpguard/sctpguard/sctpsock"
	"github.com/sctpguard/sctpguard/test/echopeer"
)

// These tests send one application's large message into a one_to_many relay in
// partial delivery, and cut it off there: the rest withheld, as a sender whose
// path failed mid-message, then ABORT (TestOneToManyPartialAborted), or withheld
// for good (TestOneToManyPartialWithheld). Three other applications on the same
// shared socket ping the echo peer meanwhile.
//
//	app X ──[nft: X's DATA dropped after N bytes]──┐
//	app 1..3 (pinging) ─────────────────────────────┼─▶ [shared socket] sctpguard ──▶ echo peer
//
// Partial delivery is made certain: the shared socket's partial delivery point
// is a quarter of its SO_RCVBUF (as the kernel reports it), its receive window
// half of it, and N lies between the two, so the kernel has more of X's message
// than the point and delivers it in pieces, and can take all N bytes.

// partialConfig is a relay whose max_message (1 MiB) is above the shared socket's
// partial delivery point (about socket/8 = 525 KiB), with the least quotas check
// allows for it.
const partialConfig = `max_message = "1MiB"
  quota {
    association = "3600KiB"
    socket      = "4200KiB"
  }`

// partialSetup is the relay, the pinging neighbours and X, with X's DATA dropped
// once its flow has carried withheld bytes: between the shared socket's partial
// delivery point and its window.
type partialSetup struct {
	g        *guard
	x        *sctpsock.Conn
	xFront   string
	w        *withholder
	pd       int // the shared socket's partial delivery point
	withheld int
	pingers  *pingers
}

func startPartial(t *testing.T) *partialSetup {
	t.Helper()
	w := newWithholder(t)
	up := startPeer(t, sctpsock.Options{}, echopeer.Serve)
	g := startGuard(t, relayConfig(up.addr, oneToMany(partialConfig)))
	rcvbuf := int(g.waitLog("listening", 10*time.Second)["so_rcvbuf"].(float64))
	s := &partialSetup{g: g, w: w, pd: rcvbuf / 4, withheld: rcvbuf * 3 / 8}
	if s.withheld >= 1<<20 {
		t.Fatalf("SO_RCVBUF %d: withholding after %d bytes leaves nothing of a 1 MiB message", rcvbuf, s.withheld)
	}
	s.pingers = startPingers(t, g.addr, 3)
	s.x = dial(t, g.addr, sctpsock.Options{NoDelay: true, SendBuffer: 4 << 20})
	s.xFront = localAddr(t, s.x)
	mustEcho(t, s.x, "x before its large message")
	w.dropDataAfter(localPort(t, s.x), s.withheld)
	go s.x.WriteMsg(sctpsock.Msg{Data: make([]byte, 1<<20), PPID: 7}) // partial-sender: it ends with X
	eventually(t, "X's DATA to be withheld", 60*time.Second, func() bool { return w.dropped() > 0 })
	t.Logf("shared socket SO_RCVBUF %d: partial delivery point %d; X's DATA is dropped after %d bytes of its 1 MiB message",
		rcvbuf, s.pd, s.withheld)
	return s
}

// TestOneToManyPartialAborted: X aborts while the relay has part of its message in
// partial delivery. X's association alone ends (peer_abort), the pieces read are
// dropped and counted (interrupted), the neighbours go on relaying, and the
// relay still listens: a new application is relayed on the same socket.
func TestOneToManyPartialAborted(t *testing.T) {
	s := startPartial(t)
	if err := s.x.Abort(); err != nil {
		t.Fatal(err)
	}
	s.g.waitLog("association ended", 20*time.Second, "front", s.xFront, "reason", "peer_abort")
	s.pingers.mustProgress(t, "after X aborted", 3*time.Second)
	late := dial(t, s.g.addr, sctpsock.Options{NoDelay: true})
	mustEcho(t, late, "a new application after X's message was cut short")
	st := guardStatus(t, s.g)
	sh := st.Relays[0].Shared
	t.Logf("shared socket after the abort: %+v", *sh)
	if sh.DroppedBy[admin.DropInterrupted] != 1 {
		t.Fatalf("dropped %v, want X's message counted once as interrupted", sh.DroppedBy)
	}
	if ended := st.Relays[0].Totals.Ended; ended["peer_abort"] != 1 || len(ended) != 1 {
		t.Fatalf("ended %v, want X alone (peer_abort)", ended)
	}
	s.pingers.stopAndCheck(t)
}

// TestOneToManyPartialWithheld: X withholds the rest of its message, for good.
// The neighbours go on relaying, none waiting longer than partialBound for an
// echo; the relay holds what it read of X's message charged to the shared
// socket's account (at most max_message), and lets go of it when X aborts.
func TestOneToManyPartialWithheld(t *testing.T) {
	s := startPartial(t)
	gap := s.pingers.mustProgress(t, "while X withholds its message", 5*time.Second)
	if gap > partialBound {
		t.Fatalf("a neighbour went %v without an echo while X withheld its message, more than %v", gap, partialBound)
	}
	sh := guardStatus(t, s.g).Relays[0].Shared
	t.Logf("while X withholds: the neighbours' longest wait for an echo %v; the shared socket holds %d B: %+v", gap, sh.Queued, *sh)
	if sh.Queued < int64(s.pd) || sh.Queued > 2<<20 {
		t.Fatalf("the shared socket's account holds %d B while X's message is under way, want its pieces (over %d B, within max_message and its buffer)", sh.Queued, s.pd)
	}
	s.x.Abort()
	s.g.waitLog("association ended", 20*time.Second, "front", s.xFront, "reason", "peer_abort")
	eventually(t, "the shared socket to let go of X's pieces", 10*time.Second, func() bool {
		return guardStatus(t, s.g).Relays[0].Shared.Queued < 64<<10
	})
	s.pingers.stopAndCheck(t)
}

// partialBound is the longest a neighbour may wait for an echo while another
// association's message is withheld: no wait for that message at all (see
// docs/one-to-many.md), plus a round trip through the relay under TCG with room
// to spare.
const partialBound = 2 * time.Second

// pingers are applications exchanging one message at a time with the echo peer
// through the relay (pingLoop), counting their exchanges.
type pingers struct {
	p    []progressCounter
	stop chan struct{}
	wg   sync.WaitGroup
}

func startPingers(t *testing.T, addr netip.AddrPort, n int) *pingers {
	t.Helper()
	ps := &pingers{p: make([]progressCounter, n), stop: make(chan struct{})}
	for i := range n {
		c := dial(t, addr, sctpsock.Options{NoDelay: true})
		ps.wg.Add(1)
		go func() { defer ps.wg.Done(); pingLoop(c, &ps.p[i], ps.stop) }() // partial-pinger
	}
	t.Cleanup(func() { ps.halt() })
	return ps
}

func (ps *pingers) halt() {
	select {
	case <-ps.stop:
	default:
		close(ps.stop)
	}
	ps.wg.Wait()
}

func (ps *pingers) counts() ([]int, error) {
	out := make([]int, len(ps.p))
	for i := range ps.p {
		ps.p[i].mu.Lock()
		out[i] = ps.p[i].n
		err := ps.p[i].err
		ps.p[i].mu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("pinger %d: %w", i, err)
		}
	}
	return out, nil
}

// mustProgress watches the pingers for d: each must make exchanges. It returns
// the longest any went without one.
func (ps *pingers) mustProgress(t *testing.T, when string, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	last, err := ps.counts()
	if err != nil {
		t.Fatalf("%s: %v", when, err)
	}
	first := append([]int(nil), last...)
	since := make([]time.Time, len(last))
	for i := range since {
		since[i] = start
	}
	var gap time.Duration
	for now := start; now.Sub(start) < d; now = time.Now() {
		time.Sleep(20 * time.Millisecond)
		cur, err := ps.counts()
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		for i := range cur {
			if cur[i] != last[i] {
				since[i], last[i] = time.Now(), cur[i]
			}
			gap = max(gap, time.Since(since[i]))
		}
	}
	for i := range last {
		if last[i] == first[i] {
			t.Fatalf("%s: pinger %d made no exchange in %v (%v made %v)", when, i, d, first, last)
		}
	}
	t.Logf("%s: the pingers made %v exchanges in %v; the longest wait %v", when, diff(last, first), d, gap.Round(time.Millisecond))
	return gap
}

func diff(a, b []int) []int {
	out := make([]int, len(a))
	for i := range a {
		out[i] = a[i] - b[i]
	}
	return out
}

func (ps *pingers) stopAndCheck(t *testing.T) {
	t.Helper()
	ps.halt()
	if _, err := ps.counts(); err != nil {
		t.Fatal(err)
	}
}

// withholder drops, in the test's network namespace, the DATA chunks that an
// SCTP flow from one local port sends once conntrack has counted n bytes of it
// (nftables, `ct original bytes`): the sender's kernel goes on retransmitting
// what it withholds, and its other chunks (SACK, HEARTBEAT, ABORT) pass.
type withholder struct {
	t     *testing.T
	table string
}

var counterRE = regexp.MustCompile(`counter packets (\d+) bytes \d+ drop`)

// newWithholder loads the netfilter modules, turns on conntrack's byte counts
// and installs an empty table whose ct rule makes conntrack follow new flows:
// flows must begin after it to be counted.
func newWithholder(t *testing.T) *withholder {
	t.Helper()
	loadNetfilter(t)
	w := &withholder{t: t, table: "sgwithhold"}
	exec.Command("nft", "delete", "table", "inet", w.table).Run() // absent, normally
	w.nft(fmt.Sprintf(`table inet %s {
  chain out {
    type filter hook output priority 0; policy accept;
    ct state new counter
  }
}`, w.table))
	t.Cleanup(func() { exec.Command("nft", "delete", "table", "inet", w.table).Run() })
	if err := os.WriteFile("/proc/sys/net/netfilter/nf_conntrack_acct", []byte("1"), 0o644); err != nil {
		t.Fatalf("conntrack byte counts: %v", err)
	}
	return w
}

// dropDataAfter drops the DATA chunks of the flow from local port sport after n
// bytes.
func (w *withholder) dropDataAfter(sport uint16, n int) {
	w.t.Helper()
	w.nft(fmt.Sprintf("add rule inet %s out sctp sport %d sctp chunk data exists ct original bytes > %d counter drop", w.table, sport, n))
}

// dropped is how many packets were dropped.
func (w *withholder) dropped() int {
	w.t.Helper()
	out, err := exec.Command("nft", "list", "chain", "inet", w.table, "out").CombinedOutput()
	if err != nil {
		w.t.Fatalf("nft list: %v %s", err, out)
	}
	m := counterRE.FindSubmatch(out)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

func (w *withholder) nft(script string) {
	w.t.Helper()
	cmd := exec.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		w.t.Fatalf("nft %q: %v %s", script, err, out)
	}
}
