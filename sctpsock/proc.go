package sctpsock

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Association states in /proc/net/sctp/assocs (the kernel's enum
// sctp_state, one less than SCTP_STATUS's numbering).
const (
	procCookieWait   = 1
	procCookieEchoed = 2
)

// procAssocState finds the association of the socket with the given inode
// in the text of /proc/net/sctp/assocs and returns its ST column.
func procAssocState(table string, inode uint64) (int, bool) {
	lines := strings.Split(table, "\n")
	if len(lines) == 0 {
		return 0, false
	}
	head := strings.Fields(lines[0])
	stCol, inoCol := indexOf(head, "ST"), indexOf(head, "INODE")
	if stCol < 0 || inoCol < 0 {
		return 0, false
	}
	want := strconv.FormatUint(inode, 10)
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) > max(stCol, inoCol) && f[inoCol] == want {
			st, err := strconv.Atoi(f[stCol])
			return st, err == nil
		}
	}
	return 0, false
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// RecvQueuedPerChunk is a lower bound of what Linux counts in a receiving
// socket's queue (RX_QUEUE in /proc/net/sctp/assocs, sk_rmem_alloc) per DATA
// chunk beyond its payload: sctp_ulpevent_make_rcvmsg charges skb->len and
// sizeof(struct sk_buff), 232 bytes on Linux 6.1 x86-64, while the chunk really
// holds ~1.6 KB for a 1-byte message. So a queue's bytes are not its true cost:
// they tell how many messages are still queued, and a lower bound makes that
// count come out high, never low.
const RecvQueuedPerChunk = 224

// PortPair names an association on this host by its local and remote ports.
type PortPair struct{ Local, Remote uint16 }

// ReceiveQueues reads /proc/net/sctp/assocs and returns, for every association on
// this host, the bytes its socket's receive queue holds (RX_QUEUE: the kernel's
// true memory, sk_rmem_alloc). The relay uses it to learn whether a receiver on
// this host has consumed what was delivered to it. Pipes waiting for quota call it
// every few milliseconds, so the file is read into a pooled buffer and parsed in
// place: the map is its only allocation.
func ReceiveQueues() (map[PortPair]int64, error) {
	bp := procBuf.Get().(*[]byte)
	defer procBuf.Put(bp)
	b, err := assocsTable.read((*bp)[:0])
	*bp = b[:0]
	if err != nil {
		return nil, fmt.Errorf("receive queues: %w", err)
	}
	return parseReceiveQueuesBytes(b)
}

// procBuf holds the buffers ReceiveQueues reads into.
var procBuf = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// assocsTable is /proc/net/sctp/assocs, opened once and read again from the start
// each time: no descriptor is taken per read, so a process at its descriptor limit
// (whose Listener.Accept frees a spare one for a moment) does not lose it to a read.
var assocsTable = procFile{name: "/proc/net/sctp/assocs"}

// procFile is a /proc file kept open; seq files read anew from offset 0.
type procFile struct {
	name string
	mu   sync.Mutex
	f    *os.File
}

// read appends the file's current content to b.
func (p *procFile) read(b []byte) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f == nil {
		f, err := os.Open(p.name)
		if err != nil {
			return b, err
		}
		p.f = f
	} else if _, err := p.f.Seek(0, io.SeekStart); err != nil {
		return b, err
	}
	return readFrom(p.f, b)
}

// readFrom appends what f holds from its offset on to b, growing it as needed.
func readFrom(f *os.File, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

func parseReceiveQueues(table string) (map[PortPair]int64, error) {
	return parseReceiveQueuesBytes([]byte(table))
}

// parseReceiveQueuesBytes parses the table without copying it.
func parseReceiveQueuesBytes(table []byte) (map[PortPair]int64, error) {
	head, rest, _ := bytes.Cut(table, []byte("\n"))
	rx, lp, rp := fieldIndex(head, "RX_QUEUE"), fieldIndex(head, "LPORT"), fieldIndex(head, "RPORT")
	if rx < 0 || lp < 0 || rp < 0 {
		return nil, fmt.Errorf("receive queues: unexpected header %q", head)
	}
	out := make(map[PortPair]int64, bytes.Count(rest, []byte("\n")))
	cols := [3]int{rx, lp, rp}
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		f, ok := pick(line, cols)
		if !ok {
			continue // a short line: not a row
		}
		q, ok1 := parseUint(f[0], 1<<62)
		l, ok2 := parseUint(f[1], 65535)
		r, ok3 := parseUint(f[2], 65535)
		if !ok1 || !ok2 || !ok3 {
			return nil, fmt.Errorf("receive queues: bad row %q", line)
		}
		out[PortPair{uint16(l), uint16(r)}] += int64(q)
	}
	return out, nil
}

// pick returns the whitespace-separated fields of line at the positions cols, in
// one pass; false if line has fewer fields.
func pick(line []byte, cols [3]int) (out [3][]byte, ok bool) {
	last := max(cols[0], cols[1], cols[2])
	for n := 0; n <= last; n++ {
		f, tail, found := nextField(line)
		if !found {
			return out, false
		}
		for k, c := range cols {
			if c == n {
				out[k] = f
			}
		}
		line = tail
	}
	return out, true
}

// nextField splits the first whitespace-separated field off line.
func nextField(line []byte) (f, tail []byte, ok bool) {
	line = bytes.TrimLeft(line, " \t")
	if len(line) == 0 {
		return nil, nil, false
	}
	end := bytes.IndexAny(line, " \t")
	if end < 0 {
		end = len(line)
	}
	return line[:end], line[end:], true
}

// fieldIndex is the position of the whitespace-separated field name in line, or -1.
func fieldIndex(line []byte, name string) int {
	for i := 0; ; i++ {
		f, tail, ok := nextField(line)
		if !ok {
			return -1
		}
		if string(f) == name {
			return i
		}
		line = tail
	}
}

// parseUint parses a decimal number up to limit.
func parseUint(f []byte, limit uint64) (uint64, bool) {
	if len(f) == 0 {
		return 0, false
	}
	var v uint64
	for _, c := range f {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
		if v > limit {
			return 0, false
		}
	}
	return v, true
}
