package backend

import (
	"fmt"

	"github.com/rerank-api/rerank-api/internal/bytesize"
)

// Grow adds extra to the booking of key, a loaded resource the caller holds
// (Acquire): one that allocates more after its load, such as a model's
// token-vector context made on the first /embed_all, books it here first.
// Room is made as for a load, by evicting idle resources, never key itself
// since it is held; ErrBudget when there is none, ErrLargerThanBudget when
// key's booking and extra together exceed a device's whole budget.
func (p *Pool[V]) Grow(key string, extra Booking) error {
	if err := p.fitsWhole(key, extra); err != nil {
		return err
	}
	if err := p.reserve(key, extra); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.lru.Peek(key)
	if !ok {
		p.unbookLocked(extra)
		return fmt.Errorf("%s is not loaded", key)
	}
	size := Booking{}
	for dev, bytes := range s.size {
		size[dev] = bytes
	}
	for dev, bytes := range extra {
		size[dev] += bytes
	}
	s.size = size // a copy: the loader's Booking stays as it returned it
	return nil
}

// Shrink gives back what Grow booked for key, when what it booked for could
// not be allocated after all.
func (p *Pool[V]) Shrink(key string, extra Booking) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.lru.Peek(key)
	if !ok {
		return // unloaded since: the removal gave back its whole booking
	}
	size := Booking{}
	for dev, bytes := range s.size {
		size[dev] = bytes - extra[dev]
	}
	s.size = size
	p.unbookLocked(extra)
}

// fitsWhole refuses extra when key's booking grown by it would exceed a
// device's whole budget: evicting everything else could never make room.
func (p *Pool[V]) fitsWhole(key string, extra Booking) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.lru.Peek(key)
	if !ok {
		return nil // reserve's own checks, then Grow's, answer this
	}
	for dev, bytes := range extra {
		if total := s.size[dev] + bytes; bytes > 0 && total > p.budgets[dev] {
			return fmt.Errorf("%w: %s needs %s more on %s, %s in all, but its whole budget is %s; %s",
				ErrLargerThanBudget, key, bytesize.Format(bytes), dev, bytesize.Format(total), bytesize.Format(p.budgets[dev]), budgetAdvice(dev))
		}
	}
	return nil
}
