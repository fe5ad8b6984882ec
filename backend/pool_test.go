package backend

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type fakeResource struct {
	key    string
	closed atomic.Bool
}

func (r *fakeResource) Close() { r.closed.Store(true) }

// fakeLoader sizes resources from a map and counts loads; Load can be held
// open with gate and made to fail with failNext.
type fakeLoader struct {
	sizes    map[string]uint64
	loads    atomic.Int32
	gate     chan struct{}
	mu       sync.Mutex
	failNext map[string]error
}

func (l *fakeLoader) Size(key string) (uint64, error) {
	s, ok := l.sizes[key]
	if !ok {
		return 0, fmt.Errorf("no such key %q", key)
	}
	return s, nil
}

func (l *fakeLoader) Load(key string) (*fakeResource, error) {
	l.loads.Add(1)
	if l.gate != nil {
		<-l.gate
	}
	l.mu.Lock()
	err := l.failNext[key]
	delete(l.failNext, key)
	l.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return &fakeResource{key: key}, nil
}

func mustAcquire(t *testing.T, p *Pool[*fakeResource], key string) (*fakeResource, func()) {
	t.Helper()
	r, release, err := p.Acquire(context.Background(), key)
	if err != nil {
		t.Fatalf("acquire %s: %v", key, err)
	}
	return r, release
}

func TestPoolEvictsLeastRecentlyUsedIdle(t *testing.T) {
	l := &fakeLoader{sizes: map[string]uint64{"a": 40, "b": 40, "c": 40}}
	p := NewPool[*fakeResource](l, PoolConfig{BudgetBytes: 100, KeepAlive: -1})
	a, relA := mustAcquire(t, p, "a")
	relA()
	b, relB := mustAcquire(t, p, "b")
	relB()
	_, relA2 := mustAcquire(t, p, "a") // a is now the most recently used
	relA2()
	c, relC := mustAcquire(t, p, "c")
	defer relC()
	if !b.closed.Load() || a.closed.Load() || c.closed.Load() {
		t.Fatalf("want b evicted only; closed: a=%v b=%v c=%v", a.closed.Load(), b.closed.Load(), c.closed.Load())
	}
	if got := p.Keys(); fmt.Sprint(got) != "[a c]" {
		t.Fatalf("loaded keys %v, want [a c]", got)
	}
	if p.Used() != 80 {
		t.Fatalf("used %d, want 80", p.Used())
	}
}

func TestPoolNeverEvictsInUseOrPinned(t *testing.T) {
	l := &fakeLoader{sizes: map[string]uint64{"a": 60, "b": 60, "p": 30, "c": 30}}
	p := NewPool[*fakeResource](l, PoolConfig{BudgetBytes: 100, KeepAlive: -1})
	a, relA := mustAcquire(t, p, "a") // held
	_, _, err := p.Acquire(context.Background(), "b")
	if !errors.Is(err, ErrBudget) {
		t.Fatalf("want ErrBudget while a is in use, got %v", err)
	}
	if a.closed.Load() {
		t.Fatal("a model in use was evicted")
	}
	relA()
	b, relB := mustAcquire(t, p, "b") // a idle now: evicted
	relB()
	if !a.closed.Load() || b.closed.Load() {
		t.Fatal("idle a should make room for b")
	}

	p.Pin("b")
	if _, _, err := p.Acquire(context.Background(), "a"); !errors.Is(err, ErrBudget) {
		t.Fatalf("pinned b must not be evicted; got %v", err)
	}
	if b.closed.Load() {
		t.Fatal("pinned model was evicted")
	}
}

func TestPoolModelLargerThanBudget(t *testing.T) {
	l := &fakeLoader{sizes: map[string]uint64{"huge": 500}}
	p := NewPool[*fakeResource](l, PoolConfig{BudgetBytes: 100, KeepAlive: -1})
	_, _, err := p.Acquire(context.Background(), "huge")
	if !errors.Is(err, ErrBudget) || l.loads.Load() != 0 {
		t.Fatalf("want ErrBudget without loading, got %v (loads %d)", err, l.loads.Load())
	}
}

func TestPoolConcurrentFirstRequestsShareOneLoad(t *testing.T) {
	l := &fakeLoader{sizes: map[string]uint64{"a": 10}, gate: make(chan struct{})}
	p := NewPool[*fakeResource](l, PoolConfig{BudgetBytes: 100, KeepAlive: 0})
	const n = 50
	var wg sync.WaitGroup
	got := make([]*fakeResource, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, release, err := p.Acquire(context.Background(), "a")
			if err != nil {
				t.Error(err)
				return
			}
			got[i] = r
			time.Sleep(10 * time.Millisecond)
			release()
		}()
	}
	time.Sleep(20 * time.Millisecond) // let every caller queue on the load
	close(l.gate)
	wg.Wait()
	if l.loads.Load() != 1 {
		t.Fatalf("%d loads, want 1", l.loads.Load())
	}
	for i := range got {
		if got[i] != got[0] {
			t.Fatal("callers got different resources")
		}
	}
	// KeepAlive 0: freed once the last user released it.
	waitFor(t, func() bool { return !p.Loaded("a") && got[0].closed.Load() })
}

func TestPoolFailedLoadReachesAllWaitersAndIsRetried(t *testing.T) {
	l := &fakeLoader{sizes: map[string]uint64{"a": 10}, gate: make(chan struct{}), failNext: map[string]error{"a": errors.New("corrupt file")}}
	p := NewPool[*fakeResource](l, PoolConfig{BudgetBytes: 100, KeepAlive: -1})
	errs := make(chan error, 5)
	for range 5 {
		go func() {
			_, _, err := p.Acquire(context.Background(), "a")
			errs <- err
		}()
	}
	time.Sleep(20 * time.Millisecond)
	close(l.gate)
	for range 5 {
		if err := <-errs; err == nil || err.Error() != "corrupt file" {
			t.Fatalf("waiter got %v, want the load error", err)
		}
	}
	if p.Used() != 0 {
		t.Fatalf("failed load left %d bytes reserved", p.Used())
	}
	_, release := mustAcquire(t, p, "a") // not cached as dead
	release()
	if l.loads.Load() != 2 {
		t.Fatalf("loads %d, want 2", l.loads.Load())
	}
}

func TestPoolKeepAlive(t *testing.T) {
	l := &fakeLoader{sizes: map[string]uint64{"a": 10}}
	p := NewPool[*fakeResource](l, PoolConfig{BudgetBytes: 100, KeepAlive: 50 * time.Millisecond})
	a, release := mustAcquire(t, p, "a")
	time.Sleep(80 * time.Millisecond)
	if a.closed.Load() {
		t.Fatal("unloaded while in use")
	}
	release()
	_, release = mustAcquire(t, p, "a") // re-use within keep-alive: same resource, timer reset
	release()
	if l.loads.Load() != 1 {
		t.Fatal("reloaded within keep-alive")
	}
	waitFor(t, func() bool { return a.closed.Load() && !p.Loaded("a") })
}

func TestPoolWaiterCancellation(t *testing.T) {
	l := &fakeLoader{sizes: map[string]uint64{"a": 10}, gate: make(chan struct{})}
	p := NewPool[*fakeResource](l, PoolConfig{BudgetBytes: 100, KeepAlive: 0})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, _, err := p.Acquire(ctx, "a")
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	close(l.gate)
	// Nobody waits any more: with KeepAlive 0 the loaded model is freed.
	waitFor(t, func() bool { return !p.Loaded("a") && p.Used() == 0 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 2s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
