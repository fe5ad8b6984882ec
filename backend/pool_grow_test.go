package backend

import (
	"errors"
	"testing"
)

// A held resource grows its booking by evicting idle ones, never itself;
// what it grew by is given back with Shrink, or with the resource when it
// is unloaded.
func TestPoolGrow(t *testing.T) {
	l := &fakeLoader{sizes: map[string]uint64{"a": 40, "b": 40}}
	p := NewPool[*fakeResource](l, PoolConfig{BudgetBytes: 100, KeepAlive: -1})
	b, relB := mustAcquire(t, p, "b")
	relB()
	a, relA := mustAcquire(t, p, "a")
	if err := p.Grow("a", Booking{HostMemory: 30}); err != nil {
		t.Fatal(err)
	}
	if !b.closed.Load() || a.closed.Load() || p.Used() != 70 {
		t.Fatalf("growing a by 30: b closed %v, a closed %v, used %d; want b evicted and 70 used", b.closed.Load(), a.closed.Load(), p.Used())
	}
	if err := p.Grow("a", Booking{HostMemory: 31}); !errors.Is(err, ErrLargerThanBudget) || p.Used() != 70 {
		t.Fatalf("growing past the budget: %v, used %d; want ErrLargerThanBudget and 70 used", err, p.Used())
	}
	p.Shrink("a", Booking{HostMemory: 30})
	if p.Used() != 40 {
		t.Fatalf("after Shrink used %d, want 40", p.Used())
	}
	if err := p.Grow("a", Booking{HostMemory: 60}); err != nil {
		t.Fatal(err)
	}
	relA()
	// Loading b again evicts a and its whole booking, growth included.
	_, relB = mustAcquire(t, p, "b")
	defer relB()
	if !a.closed.Load() || p.Used() != 40 {
		t.Fatalf("after a's eviction: a closed %v, used %d; want 40", a.closed.Load(), p.Used())
	}
	if err := p.Grow("a", Booking{HostMemory: 1}); err == nil {
		t.Error("growing a resource that is not loaded succeeded")
	}
}
