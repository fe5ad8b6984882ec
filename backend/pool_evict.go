package backend

import (
	"maps"
	"slices"
)

// evictionWouldFitLocked reports whether evicting every resource reserve
// may evict (idle, unpinned, holding memory where size is short) would
// make room for size. When it would not, reserve evicts nothing: the
// request fails with ErrBudget all the same, and each evicted model would
// cost its next request a reload for nothing.
func (p *Pool[V]) evictionWouldFitLocked(size Booking) bool {
	used := maps.Clone(p.used)
	for _, k := range p.lru.Keys() {
		short := shortOf(used, p.budgets, size)
		if short == nil {
			return true
		}
		s, _ := p.lru.Peek(k)
		if s.refs > 0 || p.pinned[k] || !holdsAny(s.size, short) {
			continue
		}
		for dev, bytes := range s.size {
			used[dev] -= bytes
		}
	}
	return shortOf(used, p.budgets, size) == nil
}

// shortOf lists, sorted, the devices where size does not fit beside used.
func shortOf(used, budgets, size Booking) []string {
	var short []string
	for dev, bytes := range size {
		if bytes > 0 && used[dev]+bytes > budgets[dev] {
			short = append(short, dev)
		}
	}
	slices.Sort(short) // the error names the same device every time
	return short
}
