package proxy

import (
	"maps"
	"sync"

	"github.com/sctpguard/sctpguard/admin"
)

// drops counts the messages (and events) sctpguard read and dropped, by reason.
// Drops are rare (a read that failed, a message of an association that has
// ended): a mutex is cheap enough. The zero value is ready.
type drops struct {
	mu sync.Mutex
	n  map[admin.DropReason]uint64
}

// add counts n drops for reason.
func (d *drops) add(reason admin.DropReason, n uint64) {
	if n == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.n == nil {
		d.n = make(map[admin.DropReason]uint64)
	}
	d.n[reason] += n
}

// snapshot returns the counts; nil if nothing was dropped.
func (d *drops) snapshot() map[admin.DropReason]uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.n)
}

// count is the number of drops for reason.
func (d *drops) count(reason admin.DropReason) uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n[reason]
}

// mergeDrops adds the counts of from to into, which it makes if nil.
func mergeDrops(into map[admin.DropReason]uint64, from map[admin.DropReason]uint64) map[admin.DropReason]uint64 {
	if len(from) == 0 {
		return into
	}
	if into == nil {
		into = make(map[admin.DropReason]uint64, len(from))
	}
	for r, n := range from {
		into[r] += n
	}
	return into
}
