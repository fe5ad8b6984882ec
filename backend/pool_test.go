package backend

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

type fakeResource struct {
	key    string
	closed atomic.Bool
}

func (r *fakeResource) Close() { r.closed.Store(true) }

// fakeLoader sizes resources from a map (bookings per device, else sizes in
// RAM) and counts loads; Load can be held open with gate and made to fail
// with failNext.
type fakeLoader struct {
	sizes    map[string]uint64
	bookings map[string]Booking
	loads    atomic.Int32
	gate     chan struct{}
	mu       sync.Mutex
	failNext map[string]error
}

func (l *fakeLoader) Size(key string) (Booking, error) {
	if b, ok := l.bookings[key]; ok {
		return b, nil
	}
	s, ok := l.sizes[key]
	if !ok {
		return nil, fmt.Errorf("no such key %q", key)
	}
	return Booking{HostMemory: s}, nil
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
	if !errors.Is(err, ErrLargerThanBudget) || l.loads.Load() != 0 {
		t.Fatalf("want ErrLargerThanBudget without loading, got %v (loads %d)", err, l.loads.Load())
	}
}

// gpuPool has 100 bytes of RAM and 100 of CUDA0: "ram" lives in RAM alone,
// the others on the GPU with a small host share.
func gpuPool(l *fakeLoader) *Pool[*fakeResource] {
	l.bookings = map[string]Booking{
		"ram":  {HostMemory: 40},
		"gpu1": {HostMemory: 5, "CUDA0": 70},
		"gpu2": {HostMemory: 5, "CUDA0": 70},
		"huge": {HostMemory: 5, "CUDA0": 150},
	}
	return NewPool[*fakeResource](l, PoolConfig{BudgetBytes: 100, Devices: []DeviceBudget{{Name: "CUDA0", BudgetBytes: 100}}, KeepAlive: -1})
}

func TestPoolFullGPUEvictsOnlyWhatLivesThere(t *testing.T) {
	l := &fakeLoader{}
	p := gpuPool(l)
	ram, rel := mustAcquire(t, p, "ram") // the least recently used, but in RAM alone
	rel()
	gpu1, rel := mustAcquire(t, p, "gpu1")
	rel()
	gpu2, rel := mustAcquire(t, p, "gpu2")
	defer rel()
	if ram.closed.Load() || !gpu1.closed.Load() || gpu2.closed.Load() {
		t.Fatalf("want gpu1 evicted only; closed: ram=%v gpu1=%v gpu2=%v", ram.closed.Load(), gpu1.closed.Load(), gpu2.closed.Load())
	}
	if ram, gpu := p.UsedOn(HostMemory), p.UsedOn("CUDA0"); ram != 45 || gpu != 70 || p.Used() != 115 {
		t.Fatalf("used RAM %d, CUDA0 %d, total %d; want 45, 70, 115", ram, gpu, p.Used())
	}

	// gpu2 in use: gpu1 cannot come back, and the error says where it is short.
	_, _, err := p.Acquire(context.Background(), "gpu1")
	if !errors.Is(err, ErrBudget) || !strings.Contains(err.Error(), "CUDA0") || ram.closed.Load() {
		t.Fatalf("got %v (ram closed %v), want ErrBudget naming CUDA0 with ram kept", err, ram.closed.Load())
	}
}

func TestPoolModelLargerThanDeviceBudget(t *testing.T) {
	l := &fakeLoader{}
	p := gpuPool(l)
	gpu1, rel := mustAcquire(t, p, "gpu1")
	rel()
	_, _, err := p.Acquire(context.Background(), "huge")
	if !errors.Is(err, ErrLargerThanBudget) || !strings.Contains(err.Error(), "on CUDA0 but its whole budget is 100 B") {
		t.Fatalf("got %v, want ErrLargerThanBudget naming CUDA0 and its budget", err)
	}
	if gpu1.closed.Load() || !p.Loaded("gpu1") || l.loads.Load() != 1 {
		t.Fatalf("a model that can never fit evicted gpu1 (closed %v) or was loaded (loads %d)", gpu1.closed.Load(), l.loads.Load())
	}
}

// The tests below run in a synctest bubble: synctest.Wait returns once
// every goroutine is blocked (on the gated Load, on the load in flight), and
// keep-alive timers run on the bubble's fake clock, so no test sleeps or
// polls on real time.

func TestPoolConcurrentFirstRequestsShareOneLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &fakeLoader{sizes: map[string]uint64{"a": 10}, gate: make(chan struct{})}
		p := NewPool[*fakeResource](l, PoolConfig{BudgetBytes: 100, KeepAlive: 0})
		const n = 50
		var wg sync.WaitGroup
		got := make([]*fakeResource, n)
		hold := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				r, release, err := p.Acquire(context.Background(), "a")
				if err != nil {
					t.Error(err)
					return
				}
				got[i] = r
				<-hold
				release()
			})
		}
		synctest.Wait() // every caller queued on the one load
		close(l.gate)
		synctest.Wait() // every caller holds the resource
		if l.loads.Load() != 1 {
			t.Fatalf("%d loads, want 1", l.loads.Load())
		}
		for i := range got {
			if got[i] != got[0] {
				t.Fatal("callers got different resources")
			}
		}
		if got[0].closed.Load() {
			t.Fatal("unloaded while in use")
		}
		close(hold)
		wg.Wait()
		synctest.Wait() // the keep-alive timer's unload
		// KeepAlive 0: freed once the last user released it.
		if p.Loaded("a") || !got[0].closed.Load() {
			t.Fatal("still loaded after the last release")
		}
	})
}

func TestPoolFailedLoadReachesAllWaitersAndIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &fakeLoader{sizes: map[string]uint64{"a": 10}, gate: make(chan struct{}), failNext: map[string]error{"a": errors.New("corrupt file")}}
		p := NewPool[*fakeResource](l, PoolConfig{BudgetBytes: 100, KeepAlive: -1})
		errs := make(chan error, 5)
		for range 5 {
			go func() {
				_, _, err := p.Acquire(context.Background(), "a")
				errs <- err
			}()
		}
		synctest.Wait() // every waiter queued on the one load
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
	})
}

func TestPoolKeepAlive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const keepAlive = 50 * time.Millisecond
		l := &fakeLoader{sizes: map[string]uint64{"a": 10}}
		p := NewPool[*fakeResource](l, PoolConfig{BudgetBytes: 100, KeepAlive: keepAlive})
		a, release := mustAcquire(t, p, "a")
		time.Sleep(2 * keepAlive)
		if a.closed.Load() {
			t.Fatal("unloaded while in use")
		}
		release()
		time.Sleep(keepAlive / 2)
		again, release := mustAcquire(t, p, "a") // within keep-alive: same resource, timer restarted
		release()
		time.Sleep(keepAlive * 3 / 4) // past the first release's deadline, not the second's
		if again != a || l.loads.Load() != 1 || a.closed.Load() {
			t.Fatalf("reloaded or unloaded within keep-alive of the last use (loads %d)", l.loads.Load())
		}
		time.Sleep(keepAlive / 2)
		if !a.closed.Load() || p.Loaded("a") {
			t.Fatal("still loaded after keep-alive")
		}
	})
}

func TestPoolWaiterCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &fakeLoader{sizes: map[string]uint64{"a": 10}, gate: make(chan struct{})}
		p := NewPool[*fakeResource](l, PoolConfig{BudgetBytes: 100, KeepAlive: 0})
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, _, err := p.Acquire(ctx, "a")
			errc <- err
		}()
		synctest.Wait() // the caller waits on the load
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		close(l.gate)
		synctest.Wait() // the load finishes; nobody waits, so KeepAlive 0 frees it
		if p.Loaded("a") || p.Used() != 0 {
			t.Fatalf("loaded %v, used %d; want freed", p.Loaded("a"), p.Used())
		}
	})
}
