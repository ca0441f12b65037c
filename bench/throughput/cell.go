package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/sctpguard/sctpguard/bench/internal/child"
	"github.com/sctpguard/sctpguard/bench/internal/peerns"
	"github.com/sctpguard/sctpguard/bench/internal/proc"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// Path names, in the order every cell runs them.
const (
	direct = "direct"
	socat  = "socat"
	guard  = "sctpguard"
)

// latencySize is the ping-pong's message size.
const latencySize = 100

// A path is how clients reach the servers.
type path struct {
	name           string
	toSink, toEcho netip.AddrPort
	relay          *child.Child // whose CPU time is measured; nil for direct
	bytesOnly      bool         // the relay keeps bytes, not message boundaries
}

// bench is the servers and relays every cell shares: started once, so
// that all cells measure the same processes.
type bench struct {
	s      settings
	logf   func(string, ...any)
	dir    string
	host   *peerns.Host // the servers' namespace, with -consumer other
	sink   *sink
	echo   *echo
	relays []*child.Child
	paths  []path
}

// setUp starts the servers, two socats (to the sink and to the echo
// server, so that the sink's measures only throughput) and one sctpguard
// relaying to both.
func setUp(ctx context.Context, s settings, logf func(string, ...any)) (*bench, error) {
	b := &bench{s: s, logf: logf}
	var err error
	if b.dir, err = os.MkdirTemp("", "sctpguard-throughput-"); err != nil {
		return nil, err
	}
	if err := b.start(ctx); err != nil {
		b.tearDown()
		return nil, err
	}
	return b, nil
}

// Where the servers (the consumers of every path) are: this namespace,
// reached over loopback (MTU 64 KiB), or a namespace of their own reached
// over a veth (MTU 1500), as a container is; the senders and relays stay
// here.
const (
	sameNetns  = "same"
	otherNetns = "other"
)

// consumerLink is the veth to the servers' namespace with -consumer other.
var consumerLink = peerns.Link{
	Names: [2]string{"sgtput0", "sgtput1"},
	Addrs: [2]netip.Prefix{netip.MustParsePrefix("10.9.1.1/24"), netip.MustParsePrefix("10.9.1.2/24")},
}

// consumers returns how the servers listen: on loopback here, or in the
// namespace it makes for them (-consumer other).
func (b *bench) consumers() (listenFunc, error) {
	if b.s.consumer != otherNetns {
		return func(rcvbuf int) (*sctpsock.Listener, error) {
			return sctpsock.Listen([]netip.AddrPort{netip.AddrPortFrom(loopback, 0)}, serverOptions(rcvbuf))
		}, nil
	}
	var err error
	if b.host, err = peerns.New(consumerLink); err != nil {
		return nil, err
	}
	at := netip.AddrPortFrom(b.host.Addr(), 0)
	return func(rcvbuf int) (l *sctpsock.Listener, err error) {
		err = b.host.In(func() error {
			l, err = sctpsock.Listen([]netip.AddrPort{at}, serverOptions(rcvbuf))
			return err
		})
		return l, err
	}, nil
}

func (b *bench) start(ctx context.Context) error {
	listen, err := b.consumers()
	if err != nil {
		return err
	}
	if b.sink, err = startSink(listen, b.s.rcvbuf); err != nil {
		return err
	}
	if b.echo, err = startEcho(listen); err != nil {
		return err
	}
	b.paths = append(b.paths, path{name: direct, toSink: b.sink.addr(), toEcho: b.echo.addr()})
	socatSink, toSink, err := startSocat(ctx, b.s.socat, filepath.Join(b.dir, "socat-sink.log"), b.sink.addr())
	if err != nil {
		return err
	}
	b.relays = append(b.relays, socatSink)
	socatEcho, toEcho, err := startSocat(ctx, b.s.socat, filepath.Join(b.dir, "socat-echo.log"), b.echo.addr())
	if err != nil {
		return err
	}
	b.relays = append(b.relays, socatEcho)
	b.paths = append(b.paths, path{name: socat, toSink: toSink, toEcho: toEcho, relay: socatSink, bytesOnly: true})
	g, toSink, toEcho, err := startGuard(ctx, b.s.guard, b.dir, b.sink.addr(), b.echo.addr())
	if err != nil {
		return err
	}
	b.relays = append(b.relays, g)
	b.paths = append(b.paths, path{name: guard, toSink: toSink, toEcho: toEcho, relay: g})
	return nil
}

func (b *bench) tearDown() {
	for _, c := range b.relays {
		c.Stop(10 * time.Second)
	}
	if b.sink != nil {
		b.sink.close()
	}
	if b.echo != nil {
		b.echo.close()
	}
	if b.host != nil {
		b.host.Close()
	}
	os.RemoveAll(b.dir)
}

// round runs every cell once: each throughput cell on every path, then the
// ping-pong on every path. Round n starts each cell with path n mod 3, so
// that no path always runs first or last.
func (b *bench) round(ctx context.Context, n int, res *results) {
	b.logf("round %d of %d", n, b.s.rounds)
	k := (n - 1) % len(b.paths)
	order := slices.Concat(b.paths[k:], b.paths[:k])
	for _, size := range b.s.sizes {
		for _, assocs := range b.s.assocs {
			for _, p := range order {
				if ctx.Err() != nil {
					return
				}
				smp := b.throughputCell(ctx, p, size, assocs)
				b.logf("  %s", smp.describe(p.name, size, assocs))
				res.addThroughput(key{size, assocs}, p.name, smp)
			}
		}
	}
	for _, p := range order {
		if ctx.Err() != nil {
			return
		}
		rtts, err := pingPong(ctx, p.toEcho, latencySize, b.s.latency)
		if err == nil {
			err = b.relaysAlive()
		}
		b.logf("  %s ping-pong: %d round trips%s", p.name, len(rtts), errSuffix(err))
		res.addLatency(p.name, rtts, err)
	}
}

// sample is one throughput cell's measurement on one path.
type sample struct {
	msgs    float64       // messages per second; for a byte relay, bytes ÷ message size
	bytes   float64       // payload bytes per second
	reads   float64       // messages per second as the server read them
	cpuPerM time.Duration // the relay's CPU time per million messages
	hasCPU  bool
	t3      int64 // retransmission timeouts on the host while measured
	discard int64 // DATA chunks discarded on the host while measured
	err     error
}

func (s sample) describe(name string, size, assocs int) string {
	head := fmt.Sprintf("%s × %d %s: ", sizeName(size), assocs, name)
	if s.err != nil {
		return head + "error: " + s.err.Error()
	}
	cpu := ""
	if s.hasCPU {
		cpu = fmt.Sprintf(", relay CPU %s per 1M msgs", fmtCPU(s.cpuPerM))
	}
	t3 := ""
	if s.t3 > 0 || s.discard > 0 {
		t3 = fmt.Sprintf(", %d retransmission timeouts, %d chunks discarded", s.t3, s.discard)
	}
	return head + fmt.Sprintf("%s msg/s, %s MB/s%s%s", fmtCount(s.msgs), fmtMB(s.bytes), cpu, t3)
}

// throughputCell measures one path with assocs senders of size-byte
// messages, and ends their associations.
func (b *bench) throughputCell(ctx context.Context, p path, size, assocs int) sample {
	return b.runCell(ctx, p, size, assocs, b.measure)
}

// measureFunc measures a cell whose senders are sending.
type measureFunc func(ctx context.Context, p path, t *tally, size int) (sample, error)

// runCell starts the cell's senders, measures with measure, and ends their
// associations.
func (b *bench) runCell(ctx context.Context, p path, size, assocs int, measure measureFunc) sample {
	t := &tally{size: size, messages: !p.bytesOnly}
	b.sink.begin(t)
	defer b.sink.begin(nil)
	defer t.finish(5 * time.Second) // at once if already done
	ss, err := dialSenders(ctx, p.toSink, assocs)
	if err != nil {
		return sample{err: err}
	}
	if err := waitAccepted(ctx, t, assocs); err != nil {
		ss.abort()
		return sample{err: err}
	}
	ss.start(size)
	smp, err := measure(ctx, p, t, size)
	t.stopping.Store(true)
	err = errors.Join(err, ss.stop())
	t.finish(5 * time.Second)
	smp.err = errors.Join(err, t.failure(), b.relaysAlive())
	return smp
}

// measure reads the counters after the warm-up and again after the
// measured time.
func (b *bench) measure(ctx context.Context, p path, t *tally, size int) (sample, error) {
	if !sleep(ctx, b.s.warm) {
		return sample{}, ctx.Err()
	}
	msgs0, bytes0, t0 := t.msgs.Load(), t.bytes.Load(), time.Now()
	cpu0, err := b.cpu(p)
	if err != nil {
		return sample{}, err
	}
	loss0, err := readLosses()
	if err != nil {
		return sample{}, err
	}
	if !sleep(ctx, b.s.dur) {
		return sample{}, ctx.Err()
	}
	msgs1, bytes1, t1 := t.msgs.Load(), t.bytes.Load(), time.Now()
	cpu1, err := b.cpu(p)
	if err != nil {
		return sample{}, err
	}
	loss1, err := readLosses()
	if err != nil {
		return sample{}, err
	}
	secs := t1.Sub(t0).Seconds()
	smp := sample{
		bytes:   float64(bytes1-bytes0) / secs,
		reads:   float64(msgs1-msgs0) / secs,
		t3:      loss1.sub(loss0).t3,
		discard: loss1.sub(loss0).discards,
	}
	smp.msgs = smp.reads
	if p.bytesOnly {
		smp.msgs = smp.bytes / float64(size)
	}
	if p.relay != nil {
		relayed := smp.msgs * secs
		if relayed > 0 {
			smp.cpuPerM = time.Duration(float64(cpu1-cpu0) / relayed * 1e6)
			smp.hasCPU = true
		}
	}
	return smp, nil // nothing arrived is a figure too: 0
}

func (b *bench) cpu(p path) (time.Duration, error) {
	if p.relay == nil {
		return 0, nil
	}
	return proc.GroupCPU(p.relay.Pid())
}

// waitAccepted waits until the sink has accepted n associations of the
// cell, for at most 30 s.
func waitAccepted(ctx context.Context, t *tally, n int) error {
	deadline := time.Now().Add(30 * time.Second)
	for t.accepted() < n {
		if !time.Now().Before(deadline) || !sleep(ctx, 10*time.Millisecond) {
			return fmt.Errorf("server accepted %d of %d associations within 30s", t.accepted(), n)
		}
	}
	return nil
}

// relaysAlive returns an error if a relay has exited.
func (b *bench) relaysAlive() error {
	for _, c := range b.relays {
		if err := c.Check(); err != nil {
			return err
		}
	}
	return nil
}

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return ", error: " + err.Error()
}
