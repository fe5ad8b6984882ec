package backend

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
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
	Size(key string) (Booking, error)
	Load(key string) (V, error)
}

// HostMemory is the device name of the host's RAM in a Booking.
const HostMemory = "RAM"

// Booking is the memory a resource takes, in bytes per device: HostMemory
// for RAM, a ggml device name ("CUDA0") for a GPU's memory.
type Booking map[string]uint64

// Total is the bytes booked on every device together.
func (b Booking) Total() uint64 {
	var n uint64
	for _, bytes := range b {
		n += bytes
	}
	return n
}

// DeviceBudget caps the memory of loaded resources on one GPU.
type DeviceBudget struct {
	Name        string // as ggml names the device: CUDA0, ROCm1...
	BudgetBytes uint64
}

// PoolConfig sets the pool's limits.
type PoolConfig struct {
	// BudgetBytes caps the summed HostMemory bookings of loaded resources.
	BudgetBytes uint64
	// Devices cap the bookings on each GPU; a resource booking memory on a
	// device without a budget fails to load.
	Devices []DeviceBudget
	// KeepAlive is how long an idle resource stays loaded: 0 frees it as
	// soon as its last user releases it, a negative value keeps it forever.
	KeepAlive time.Duration
	// Loaded and Evicted, when set, are told of every load (how long it
	// took, and its error: Size's, no room in the budget, or Load's) and of
	// every resource unloaded while the pool runs (EvictedForMemory,
	// EvictedIdle), for metrics. They are called without the pool's lock
	// held.
	Loaded  func(key string, took time.Duration, err error)
	Evicted func(key, reason string)
}

// ErrBudget is returned when a resource cannot fit a device's memory budget
// even after evicting everything idle there: models in use hold the rest,
// and a retry later may fit.
var ErrBudget = errors.New("memory budget exceeded")

// ErrLargerThanBudget is returned when a resource needs more than a
// device's whole budget (or memory on a device with none): no retry can
// fit it, only a larger budget or a smaller model.
var ErrLargerThanBudget = errors.New("larger than the memory budget")

// Pool keeps loaded resources (models) in least-recently-used order under a
// memory budget per device (RAM and each GPU). Resources in use are
// reference counted and never evicted; pinned ones are never evicted
// either. Concurrent first requests for one key share a single Load; a
// failed Load is reported to all of them and retried by the next request.
type Pool[V Resource] struct {
	loader  Loader[V]
	cfg     PoolConfig
	budgets Booking // per device, HostMemory's included

	mu       sync.Mutex
	lru      *simplelru.LRU[string, *slot[V]] // oldest first; capacity is unbounded, the budget decides
	loading  map[string]*loadCall[V]
	pinned   map[string]bool
	used     Booking // bookings of loaded resources plus loads in progress
	closed   bool
	timerGen uint64
}

type slot[V Resource] struct {
	value  V
	size   Booking
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
	budgets := Booking{HostMemory: cfg.BudgetBytes}
	for _, d := range cfg.Devices {
		budgets[d.Name] = d.BudgetBytes
	}
	return &Pool[V]{loader: loader, cfg: cfg, budgets: budgets, used: Booking{},
		lru: lru, loading: map[string]*loadCall[V]{}, pinned: map[string]bool{}}
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
	start := time.Now()
	size, err := p.loader.Size(key)
	if err == nil {
		err = p.reserve(key, size)
	}
	if err != nil {
		p.reportLoaded(key, start, err)
		p.finishLoad(key, call, err)
		return
	}
	value, err := p.loader.Load(key)
	p.reportLoaded(key, start, err)
	p.mu.Lock()
	delete(p.loading, key)
	if err != nil {
		p.unbookLocked(size)
		call.err = err
		p.mu.Unlock()
		return
	}
	if p.closed {
		p.unbookLocked(size)
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

// reserve makes room for a booking by evicting idle, unpinned resources,
// least recently used first, and counts the bytes as used. Only resources
// that hold memory on a device that is short are evicted: a full GPU does
// not unload a model that lives in RAM alone, nor the reverse.
func (p *Pool[V]) reserve(key string, size Booking) error {
	for _, dev := range slices.Sorted(maps.Keys(size)) { // the error names the same device every time
		budget, ok := p.budgets[dev]
		if !ok && size[dev] > 0 {
			return fmt.Errorf("%w: %s needs %s on %s, which has no memory budget", ErrLargerThanBudget, key, bytesize.Format(size[dev]), dev)
		}
		if size[dev] > budget {
			return fmt.Errorf("%w: %s needs %s on %s but its whole budget is %s; %s",
				ErrLargerThanBudget, key, bytesize.Format(size[dev]), dev, bytesize.Format(budget), budgetAdvice(dev))
		}
	}
	var evicted []V
	var evictedKeys []string
	p.mu.Lock()
	wouldFit := p.evictionWouldFitLocked(size)
	for _, k := range p.lru.Keys() { // oldest first
		short := p.shortLocked(size)
		if short == nil || !wouldFit {
			break
		}
		s, _ := p.lru.Peek(k)
		if s.refs > 0 || p.pinned[k] || !holdsAny(s.size, short) {
			continue
		}
		p.removeLocked(k, s)
		evicted = append(evicted, s.value)
		evictedKeys = append(evictedKeys, k)
	}
	short := p.shortLocked(size)
	var err error
	if short == nil {
		for dev, bytes := range size {
			p.used[dev] += bytes
		}
	} else {
		dev := short[0]
		err = fmt.Errorf("%w: %s needs %s on %s but %s of its %s budget is held by models in use or pinned; retry later, or %s",
			ErrBudget, key, bytesize.Format(size[dev]), dev, bytesize.Format(p.used[dev]), bytesize.Format(p.budgets[dev]), budgetAdvice(dev))
	}
	p.mu.Unlock()
	for _, v := range evicted {
		v.Close()
	}
	p.reportEvicted(EvictedForMemory, evictedKeys...)
	return err
}

// shortLocked lists, sorted, the devices where size does not fit beside
// what is used now; nil when it fits everywhere.
func (p *Pool[V]) shortLocked(size Booking) []string {
	return shortOf(p.used, p.budgets, size)
}

// budgetAdvice says what makes more room on dev: RAM's budget is the
// user's to raise; a GPU's is a share of its free memory at start.
func budgetAdvice(dev string) string {
	if dev == HostMemory {
		return "raise the memory budget"
	}
	return "offload fewer layers, free memory on " + dev + " before starting, or use a smaller model"
}

func holdsAny(size Booking, devices []string) bool {
	for _, dev := range devices {
		if size[dev] > 0 {
			return true
		}
	}
	return false
}

func (p *Pool[V]) unbookLocked(size Booking) {
	for dev, bytes := range size {
		p.used[dev] -= bytes
	}
}

func (p *Pool[V]) removeLocked(key string, s *slot[V]) {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	p.lru.Remove(key)
	p.unbookLocked(s.size)
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
	p.reportEvicted(EvictedIdle, key)
}

func (p *Pool[V]) reportLoaded(key string, start time.Time, err error) {
	if p.cfg.Loaded != nil {
		p.cfg.Loaded(key, time.Since(start), err)
	}
}

func (p *Pool[V]) reportEvicted(reason string, keys ...string) {
	if p.cfg.Evicted == nil {
		return
	}
	for _, k := range keys {
		p.cfg.Evicted(k, reason)
	}
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

// Resources returns the loaded resources by key. It is a copy: one may be
// unloaded by the time the caller looks at it, so the caller may only read
// what survives a Close.
func (p *Pool[V]) Resources() map[string]V {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]V, p.lru.Len())
	for _, k := range p.lru.Keys() {
		s, _ := p.lru.Peek(k)
		out[k] = s.value
	}
	return out
}

// Booked returns copies of what is taken (loaded resources and loads in
// progress) and of the budgets, in bytes by device.
func (p *Pool[V]) Booked() (used, budgets Booking) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.used), maps.Clone(p.budgets)
}

// Used is the budget currently taken on every device together, in bytes.
func (p *Pool[V]) Used() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.used.Total()
}

// UsedOn is the budget currently taken on one device (HostMemory, CUDA0...).
func (p *Pool[V]) UsedOn(device string) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.used[device]
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
