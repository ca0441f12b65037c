package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/sctpguard/sctpguard/bench/internal/child"
	"github.com/sctpguard/sctpguard/sctpsock"
	"golang.org/x/sys/unix"
)

// bench holds what the rows share.
type bench struct {
	s            settings
	log          io.Writer
	header       string
	status       string // sctpguard status at the plateau of its largest row
	statusAssocs int
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "seed: "+format+"\n", args...)
}

// row is one measurement: a path and a number of associations.
type row struct {
	path     string
	receiver string // sameNetns or otherNetns
	assocs   int
	accepted []int64 // messages each sender got into the kernel
	used     int64   // MemAvailable drop, bytes
	setup    int64   // of which taken before the flood: processes and idle associations
	idleRSS  int64   // the same before the flood
	slab     int64   // growth of the kernel's slab (its queues on the whole path), bytes
	relayRSS int64   // resident anonymous memory of the relay's processes at the plateau, bytes; 0 for direct
	relayCPU float64 // share of one core the relay used at the plateau; -1 if unknown or direct
	queued   int64   // what the senders' own send queues held at the plateau, bytes
	stopped  string  // why the flood ended
	notes    []string
	skipped  string
	err      error
	resume   *resumeResult
}

func (r *row) failed() bool { return r.err != nil || r.resume != nil && r.resume.err != nil }

// scene is everything a row set up, for teardown.
type scene struct {
	recv    *receiver
	relay   *child.Child
	senders []*sender
}

// teardown ends the row: the receivers first (ABORT frees their queues at
// once and tells a relay), then the senders, then the relay.
func (sc *scene) teardown() {
	if sc.recv != nil {
		sc.recv.close()
	}
	for _, s := range sc.senders {
		s.c.Abort()
	}
	if sc.relay != nil {
		sc.relay.Stop(10 * time.Second)
	}
}

// runRow measures one row and leaves the host as it found it.
func (b *bench) runRow(ctx context.Context, p path, n int, where string, prev []*row) *row {
	r := &row{path: p.name, assocs: n, receiver: where, relayCPU: -1}
	b.logf("%s, %d associations, receiver in the %s netns", p.name, n, where)
	if p.start == nil {
		if r.skipped = b.tooBig(n, prev); r.skipped != "" {
			b.logf("  skipped: %s", r.skipped)
			return r
		}
	}
	dir, err := os.MkdirTemp("", "sctpguard-seed-")
	if err != nil {
		r.err = err
		return r
	}
	defer os.RemoveAll(dir)
	baseline, steady := settle(ctx, 4<<20, 30*time.Second, b.logf)
	if !steady {
		r.notes = append(r.notes, "baseline unsteady")
	}
	baseSlab, _ := meminfo("Slab")
	sc := &scene{}
	defer b.cleanup(ctx, sc, baseline)
	r.err = b.measure(ctx, sc, p, dir, n, where, r, baseline, baseSlab)
	if r.err != nil {
		b.logf("  error: %v", r.err)
		return r
	}
	b.logf("  %s after %s: %s messages per association, %s used", p.name, r.stopped, count(mean(r.accepted)), mb(r.used))
	if p.name == "sctpguard" {
		b.guardPlateau(ctx, dir, n)
	}
	if b.s.resume && p.name != "socat" { // socat merges messages: nothing to check
		b.resume(ctx, sc, r)
	}
	return r
}

// measure sets the row up, floods and reads the plateau into r.
func (b *bench) measure(ctx context.Context, sc *scene, p path, dir string, n int, where string, r *row, baseline, baseSlab int64) error {
	var err error
	if sc.recv, err = listenReceiver(where); err != nil {
		return err
	}
	to := sc.recv.addr
	if p.start != nil {
		sc.relay, to, err = p.start(ctx, dir, sc.recv.addr)
		if err != nil {
			return err
		}
	}
	if sc.senders, err = dialSenders(ctx, to, n); err != nil {
		return err
	}
	conns, err := sc.recv.waitConns(ctx, n)
	if err != nil {
		return err
	}
	b.logf("  receiver SO_RCVBUF as the kernel reports it: %s", rcvbuf(conns[0]))
	idle, _ := settle(ctx, 2<<20, 20*time.Second, b.logf)
	r.setup = baseline - idle
	if sc.relay != nil {
		r.idleRSS = groupAnon(sc.relay.Pid())
	}
	r.stopped, err = b.floodAll(ctx, sc.senders, sc.relay)
	for _, s := range sc.senders {
		r.accepted = append(r.accepted, s.sent.Load())
		if s.err != nil {
			r.notes = append(r.notes, s.err.Error())
		}
	}
	if err != nil {
		return err
	}
	avail, steady := settle(ctx, 2<<20, 20*time.Second, b.logf)
	if !steady {
		r.notes = append(r.notes, "plateau unsteady")
	}
	r.used = baseline - avail
	if slab, err := meminfo("Slab"); err == nil {
		r.slab = slab - baseSlab
	}
	r.queued = sendQueued(sc.senders)
	if sc.relay != nil {
		r.relayRSS = groupAnon(sc.relay.Pid())
		stopProfile := b.cpuProfile(ctx, p, dir, n)
		if r.relayCPU, err = cpuShare(ctx, sc.relay.Pid(), b.s.cpuWindow); err != nil {
			r.notes = append(r.notes, err.Error())
		}
		stopProfile()
	}
	if r.stopped == "message cap" {
		r.stopped = fmt.Sprintf("message cap (%s)", count(b.s.msgCap))
	}
	if sc.relay != nil {
		return sc.relay.Check()
	}
	return nil
}

// guardPlateau takes sctpguard's heap profile and status at the plateau.
func (b *bench) guardPlateau(ctx context.Context, dir string, n int) {
	if b.s.pprof != "" {
		file := fmt.Sprintf("%s-%d", b.s.pprof, n)
		if err := child.SaveProfile(ctx, filepath.Join(dir, "admin.sock"), "heap", file); err != nil {
			b.logf("  heap profile: %v", err)
		}
	}
	if b.s.status && n == slices.Max(b.s.assocs) {
		b.status, b.statusAssocs = guardStatus(ctx, b.s.guard, dir), n
	}
}

// resume lets the receiver read everything back and checks it.
func (b *bench) resume(ctx context.Context, sc *scene, r *row) {
	b.logf("  resume: the receiver reads everything back")
	conns, _ := sc.recv.waitConns(ctx, 0)
	res := drain(ctx, conns, r.accepted, b.s.drainTimeout)
	if sc.relay != nil {
		if err := sc.relay.Check(); err != nil && res.err == nil {
			res.err = err
		}
	}
	if res.err != nil {
		b.logf("  resume failed: %v", res.err)
	}
	r.resume = &res
}

// cleanup tears the row down and waits for the host to give its memory back.
func (b *bench) cleanup(ctx context.Context, sc *scene, baseline int64) {
	sc.teardown()
	// ctx may be over; recovery still gets its chance, bounded.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 90*time.Second)
	defer cancel()
	avail, ok := recoverMem(rctx, baseline, 32<<20, 90*time.Second, b.logf)
	if !ok {
		b.logf("  warning: %s still in use 90s after teardown; the next row starts from a new baseline", mb(baseline-avail))
	}
}

// tooBig says why a direct row would not fit in memory, judging by the
// last direct row (or ~150 MB per association before any), or "".
func (b *bench) tooBig(n int, prev []*row) string {
	per := int64(150e6)
	for _, r := range prev {
		if r.path == "direct" && r.err == nil && r.skipped == "" && r.stopped == "blocked" {
			per = r.used / int64(r.assocs) * 5 / 4
		}
	}
	avail, err := memAvailable()
	if err != nil {
		return err.Error()
	}
	need := per * int64(n)
	if need > avail-b.s.memFloor-(256<<20) {
		return fmt.Sprintf("needs ~%s, %s available (more memory: BENCH_VM_MEM)", mb(need), mb(avail))
	}
	return ""
}

// rcvbuf is a socket's SO_RCVBUF as getsockopt reports it (twice what was set).
func rcvbuf(c *sctpsock.Conn) string {
	rc, err := c.SyscallConn()
	if err != nil {
		return err.Error()
	}
	n, gerr := 0, error(nil)
	if err := rc.Control(func(fd uintptr) { n, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF) }); err != nil {
		return err.Error()
	}
	if gerr != nil {
		return gerr.Error()
	}
	return count(int64(n)) + " bytes"
}

// cpuProfile starts taking sctpguard's CPU profile over the CPU window, when
// -pprof asks for profiles, into prefix-N.cpu (sctpguard only); the returned func waits for it.
func (b *bench) cpuProfile(ctx context.Context, p path, dir string, n int) (wait func()) {
	if b.s.pprof == "" || p.name != "sctpguard" {
		return func() {}
	}
	file := fmt.Sprintf("%s-%d.cpu", b.s.pprof, n)
	name := fmt.Sprintf("profile?seconds=%d", max(1, int(b.s.cpuWindow/time.Second)))
	done := make(chan struct{})
	go func() { // cpu-profile: ends with the profile's window
		defer close(done)
		if err := child.SaveProfile(ctx, filepath.Join(dir, "admin.sock"), name, file); err != nil {
			b.logf("CPU profile: %v", err)
		}
	}()
	return func() { <-done }
}
