package calibrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/sctpguard/sctpguard/diag"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// measure runs one round: it opens a loopback association, fills the
// receiver's queue with payload-byte messages it never reads, and measures
// what the host lost.
func measure(ctx context.Context, payload int, budget int64, o Options) (Round, error) {
	p, err := openPair(ctx, budget)
	if err != nil {
		return Round{}, err
	}
	defer p.close()
	base, _, err := settle(ctx, o.Settle, o.DropCaches)
	if err != nil {
		return Round{}, err
	}
	n, stop, err := p.flood(ctx, payload, o.Messages, budget, o.Stall, base)
	if err != nil {
		return Round{}, err
	}
	after, settled, err := settle(ctx, o.Settle, o.DropCaches)
	if err != nil {
		return Round{}, err
	}
	claimed, rcvbuf := p.claimed()
	frag := p.fragment()
	p.close()
	back, err := recovered(ctx, base, o.Settle, o.DropCaches)
	if err != nil {
		return Round{}, err
	}
	r := Round{
		Messages:      n,
		Stop:          stop,
		HostUsed:      after.used(base),
		Slab:          after.Slab - base.Slab,
		SUnreclaim:    after.SUnreclaim - base.SUnreclaim,
		KernelClaimed: claimed,
		RecvBuffer:    rcvbuf,
		Fragment:      frag,
		Settled:       settled,
		Residual:      max(back.used(base), 0),
	}
	if n > 0 {
		r.Overhead = float64(r.HostUsed-n*int64(payload)) / float64(n)
	}
	return r, nil
}

// pair is one loopback association: send writes, recv never reads.
type pair struct {
	l          *sctpsock.Listener
	send, recv *sctpsock.Conn
}

// openPair opens a listener whose accepted association offers a receive
// buffer of budget bytes (at most 1 GiB; capped at net.core.rmem_max
// without CAP_NET_ADMIN), dials it with SCTP_NODELAY and accepts.
func openPair(ctx context.Context, budget int64) (*pair, error) {
	// The kernel keeps SO_RCVBUF doubled in an int.
	rcvbuf := int(min(budget, 1<<30))
	l, err := sctpsock.Listen([]netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")},
		sctpsock.Options{RecvBuffer: rcvbuf})
	if err != nil {
		return nil, fmt.Errorf("receiver: %w", err)
	}
	p := &pair{l: l}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if p.send, err = sctpsock.Dial(dctx, nil, l.Addrs(), sctpsock.Options{NoDelay: true}); err != nil {
		p.close()
		return nil, fmt.Errorf("sender: %w", err)
	}
	// The kernel completed the association before Dial returned; it waits
	// in the accept queue.
	if p.recv, err = l.Accept(); err != nil {
		p.close()
		return nil, fmt.Errorf("receiver: accept: %w", err)
	}
	return p, nil
}

// close aborts both ends, which frees at once what the kernel holds for
// them, and stops listening. It may be called more than once.
func (p *pair) close() {
	if p.send != nil {
		p.send.Abort()
		p.send = nil
	}
	if p.recv != nil {
		p.recv.Abort()
		p.recv = nil
	}
	p.l.Close()
}

// flood sends messages of payload bytes until limit messages are queued,
// a write waits longer than stall (the kernel takes no more), or the host
// has lost budget bytes since base. It returns the messages queued and why
// it stopped: "cap", "blocked" or "budget".
func (p *pair) flood(ctx context.Context, payload, limit int, budget int64, stall time.Duration, base memory) (int64, string, error) {
	msg := sctpsock.Msg{Data: bytes.Repeat([]byte{'c'}, payload)}
	// Check the budget every 256 messages or 1 MiB of payload.
	every := max(1, min(256, (1<<20)/payload))
	for n := range limit {
		if n%every == 0 {
			if err := ctx.Err(); err != nil {
				return 0, "", context.Cause(ctx)
			}
			cur, err := readMemory()
			if err != nil {
				return 0, "", err
			}
			if cur.used(base) >= budget {
				return int64(n), "budget", nil
			}
		}
		p.send.SetWriteDeadline(time.Now().Add(stall))
		err := p.send.WriteMsg(msg)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return int64(n), "blocked", nil
		}
		if err != nil {
			return 0, "", fmt.Errorf("send message %d: %w", n+1, err)
		}
	}
	return int64(limit), "cap", nil
}

// fragment returns the sender's fragmentation point (SCTP_STATUS), 0 if
// unknown.
func (p *pair) fragment() int {
	st, err := p.send.Status()
	if err != nil {
		return 0
	}
	return int(st.FragmentationPoint)
}

// claimed returns what the kernel's socket accounting charges for the
// queued messages, the receiver's receive allocation plus the sender's
// queued send memory, and the receiver's receive buffer as the kernel
// keeps it. It reads sock_diag and falls back to the RX_QUEUE column of
// /proc/net/sctp/assocs (receiver only, no buffer size); 0 when neither
// answers.
func (p *pair) claimed() (held, rcvbuf int64) {
	if entries, err := diag.Dump(); err == nil {
		rows := diag.ByInode(entries)
		ri, err1 := diag.InodeOf(p.recv)
		si, err2 := diag.InodeOf(p.send)
		r, ok1 := rows[ri]
		s, ok2 := rows[si]
		if err1 == nil && err2 == nil && ok1 && ok2 && r.Mem != nil && s.Mem != nil {
			return int64(r.Mem.RmemAlloc) + int64(s.Mem.WmemQueued), int64(r.Mem.RcvBuf)
		}
	}
	local, err := p.send.LocalAddrs()
	if err != nil || len(local) == 0 {
		return 0, 0
	}
	q, err := sctpsock.ReceiveQueues()
	if err != nil {
		return 0, 0
	}
	return q[sctpsock.PortPair{Local: p.l.Addrs()[0].Port(), Remote: local[0].Port()}], 0
}
