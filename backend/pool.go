package backend

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/rerank-api/rerank-api/internal/bytesize"
)

// Resource is what the pool holds: anything that must be freed.
type Resource interface{ Close() }

// Loader creates pool resources. Size is asked first so the pool can make
// room before the (slow, memory-hungry) Load runs.
type Loader[V Resource] interface {
	Size(key string) (uint64, error)
	Load(key string) (V, error)
}

// PoolConfig sets the pool's limits.
type PoolConfig struct {
	// BudgetBytes caps the summed Size of loaded resources.
	BudgetBytes uint64
	// KeepAlive is how long an idle resource stays loaded: 0 frees it as
	// soon as its last user releases it, a negative value keeps it forever.
	KeepAlive time.Duration
}

// ErrBudget is returned when a resource cannot fit the memory budget even
// after evicting everything idle.
var ErrBudget = errors.New("memory budget exceeded")

// Pool keeps loaded resources (models) in least-recently-used order under a
// memory budget. Resources in use are reference counted and never evicted;
// pinned ones are never evicted either. Concurrent first requests for one key
// share a single Load; a failed Load is reported to all of them and retried by
// the next request.
type Pool[V Resource] struct {
	loader Loader[V]
	cfg    PoolConfig

	mu       sync.Mutex
	lru      *simplelru.LRU[string, *slot[V]] // oldest first; capacity is unbounded, the budget decides
	loading  map[string]*loadCall[V]
	pinned   map[string]bool
	used     uint64 // sizes of loaded resources plus loads in progress
	closed   bool
	timerGen uint64
}

type slot[V Resource] struct {
	value  V
	size   uint64
	refs   int
	idleID uint64 // identifies the keep-alive timer armed at the last release
	timer  *time.Timer
}

// loadCall is one Load in progress. When it succeeds, every caller still
// waiting gets a reference at once (refs = waiters), so a zero keep-alive
// cannot unload the model between the load and its first use.
type loadCall[V Resource] struct {
	done    chan struct{}
	err     error
	waiters int      // callers waiting, guarded by Pool.mu
	slot    *slot[V] // set under Pool.mu when the load succeeded
}

// NewPool returns an empty pool.
func NewPool[V Resource](loader Loader[V], cfg PoolConfig) *Pool[V] {
	lru, _ := simplelru.NewLRU[string, *slot[V]](math.MaxInt32, nil)
	return &Pool[V]{loader: loader, cfg: cfg, lru: lru, loading: map[string]*loadCall[V]{}, pinned: map[string]bool{}}
}

// Pin keeps key loaded once it is loaded (default models).
func (p *Pool[V]) Pin(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pinned[key] = true
	if s, ok := p.lru.Peek(key); ok && s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
}

// Acquire returns the resource for key, loading it if needed, and a release
// function the caller must call exactly once when done with it. Waiting for
// another caller's load ends early if ctx is cancelled; the load itself goes
// on for the others.
func (p *Pool[V]) Acquire(ctx context.Context, key string) (V, func(), error) {
	var zero V
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return zero, nil, errors.New("pool is closed")
	}
	if s, ok := p.lru.Get(key); ok {
		s.refs++
		if s.timer != nil {
			s.timer.Stop()
			s.timer = nil
		}
		p.mu.Unlock()
		return s.value, p.releaser(key, s), nil
	}
	call, inFlight := p.loading[key]
	if !inFlight {
		call = &loadCall[V]{done: make(chan struct{})}
		p.loading[key] = call
		go p.load(key, call) // detached: a caller that gives up does not abort the load for others
	}
	call.waiters++
	p.mu.Unlock()
	select {
	case <-call.done:
		if call.err != nil {
			return zero, nil, call.err
		}
		return call.slot.value, p.releaser(key, call.slot), nil
	case <-ctx.Done():
		p.mu.Lock()
		handedOver := call.slot != nil
		if !handedOver {
			call.waiters--
		}
		p.mu.Unlock()
		if handedOver {
			p.releaser(key, call.slot)()
		}
		return zero, nil, ctx.Err()
	}
}

func (p *Pool[V]) load(key string, call *loadCall[V]) {
	defer close(call.done)
	size, err := p.loader.Size(key)
	if err == nil {
		err = p.reserve(key, size)
	}
	if err != nil {
		p.finishLoad(key, call, err)
		return
	}
	value, err := p.loader.Load(key)
	p.mu.Lock()
	delete(p.loading, key)
	if err != nil {
		p.used -= size
		call.err = err
		p.mu.Unlock()
		return
	}
	if p.closed {
		p.used -= size
		p.mu.Unlock()
		value.Close()
		call.err = errors.New("pool is closed")
		return
	}
	s := &slot[V]{value: value, size: size, refs: call.waiters}
	p.lru.Add(key, s)
	call.slot = s
	p.armKeepAlive(key, s) // only if every waiter already gave up
	p.mu.Unlock()
}

func (p *Pool[V]) finishLoad(key string, call *loadCall[V], err error) {
	p.mu.Lock()
	delete(p.loading, key)
	call.err = err
	p.mu.Unlock()
}

// reserve makes room for size bytes by evicting idle, unpinned resources,
// least recently used first, and counts the bytes as used.
func (p *Pool[V]) reserve(key string, size uint64) error {
	if size > p.cfg.BudgetBytes {
		return fmt.Errorf("%w: %s needs %s but the whole budget is %s; raise the memory budget", ErrBudget, key, bytesize.Format(size), bytesize.Format(p.cfg.BudgetBytes))
	}
	var evicted []V
	p.mu.Lock()
	for _, k := range p.lru.Keys() { // oldest first
		if p.used+size <= p.cfg.BudgetBytes {
			break
		}
		s, _ := p.lru.Peek(k)
		if s.refs > 0 || p.pinned[k] {
			continue
		}
		p.removeLocked(k, s)
		evicted = append(evicted, s.value)
	}
	fits := p.used+size <= p.cfg.BudgetBytes
	if fits {
		p.used += size
	}
	inUse := p.used
	p.mu.Unlock()
	for _, v := range evicted {
		v.Close()
	}
	if !fits {
		return fmt.Errorf("%w: %s needs %s but %s of the %s budget is held by models in use or pinned; retry later or raise the memory budget",
			ErrBudget, key, bytesize.Format(size), bytesize.Format(inUse), bytesize.Format(p.cfg.BudgetBytes))
	}
	return nil
}

func (p *Pool[V]) removeLocked(key string, s *slot[V]) {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	p.lru.Remove(key)
	p.used -= s.size
}

func (p *Pool[V]) releaser(key string, s *slot[V]) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			s.refs--
			if s.refs == 0 {
				p.armKeepAlive(key, s)
			}
		})
	}
}

// armKeepAlive schedules the unload of an idle resource. Called with p.mu held.
func (p *Pool[V]) armKeepAlive(key string, s *slot[V]) {
	if p.pinned[key] || p.cfg.KeepAlive < 0 || s.refs > 0 {
		return
	}
	p.timerGen++
	id := p.timerGen
	s.idleID = id
	s.timer = time.AfterFunc(p.cfg.KeepAlive, func() { p.expire(key, id) })
}

func (p *Pool[V]) expire(key string, id uint64) {
	p.mu.Lock()
	s, ok := p.lru.Peek(key)
	if !ok || s.refs > 0 || s.idleID != id || p.pinned[key] {
		p.mu.Unlock()
		return
	}
	p.removeLocked(key, s)
	p.mu.Unlock()
	s.value.Close()
}

// Loaded reports whether key is loaded now.
func (p *Pool[V]) Loaded(key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lru.Contains(key)
}

// Keys lists the loaded keys, least recently used first.
func (p *Pool[V]) Keys() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lru.Keys()
}

// Used is the budget currently taken, in bytes.
func (p *Pool[V]) Used() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.used
}

// Close frees every loaded resource; callers must have released them.
func (p *Pool[V]) Close() {
	p.mu.Lock()
	p.closed = true
	var values []V
	for _, k := range p.lru.Keys() {
		s, _ := p.lru.Peek(k)
		p.removeLocked(k, s)
		values = append(values, s.value)
	}
	p.mu.Unlock()
	for _, v := range values {
		v.Close()
	}
}
