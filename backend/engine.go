package backend

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/envconfig"
)

// Config holds the engine's knobs; cmd/ fills it from flags and environment.
type Config struct {
	ModelsDir        string
	DefaultEmbedding string // catalog name used when a request names no model
	DefaultReranker  string
	// BudgetBytes caps the RAM of loaded models (weights plus buffers).
	BudgetBytes uint64
	// Devices are the GPUs models are offloaded to (when GPULayers is not
	// 0), each with the budget its memory is capped by; empty: models run
	// on the CPU and book everything against BudgetBytes. cmd/ sets each
	// to DefaultDeviceBudget of the device's free memory at start.
	Devices []DeviceBudget
	// KeepAlive: see PoolConfig.KeepAlive. Default models never unload.
	KeepAlive time.Duration
	// Workers is the number of inference contexts per model, each encoding
	// its own batches; Threads is the compute threads of each.
	Workers int
	Threads int
	// BatchTokens is the batcher's token budget per encode call.
	BatchTokens        int
	FlashAttention     bool
	GPULayers          int
	MaxQueuedSequences int
	// MaxConcurrentRequests beyond which requests fail with ErrOverloaded;
	// MaxConcurrentRequestsPerModel bounds those of one model the same
	// way, 0 meaning half of MaxConcurrentRequests (see admission).
	MaxConcurrentRequests         int
	MaxConcurrentRequestsPerModel int
	// Runtime loads the models (backend/llamarun's: llama.cpp); without
	// one every load fails with ErrModelUnavailable.
	Runtime Runtime
	// Puller downloads catalog models on their first request; nil (serve
	// --offline) serves only what is on disk.
	Puller Puller
	// PullOnRequest says which missing models a request may have the
	// Puller download (see PullPolicy); "" means PullDefaults.
	PullOnRequest PullPolicy
	// Observer is told of batches, loads and evictions (metrics); nil
	// observes nothing.
	Observer Observer
	// PullWait bounds how long a request waits for its model's first
	// download before it fails with ErrModelUnavailable, the download
	// going on; 0 means DefaultPullWait, and a negative wait lasts as long
	// as the download (the CLI's embed and rerank).
	PullWait time.Duration
	// MecabDicdir is the MeCab dictionary of BertJapaneseTokenizer models
	// whose catalog entry names none (MECAB_DICDIR); "" uses the one
	// their tokenizer config names.
	MecabDicdir string
	// MecabRC is the mecabrc MeCab would read first (MECABRC): its dicdir
	// is the dictionary of models whose tokenizer config names none.
	MecabRC string
}

// DefaultMaxQueuedSequences is MaxQueuedSequences for a zero field; the
// other fields' defaults are their flags' (envconfig).
const DefaultMaxQueuedSequences = 100_000

func (c *Config) applyDefaults() {
	if c.Workers < 1 {
		c.Workers = envconfig.Workers.Default
	}
	if c.Threads < 1 {
		// GOMAXPROCS, not NumCPU: Go sets it from the container's CPU
		// limit (cgroup cpu.max), where NumCPU counts the node's cores.
		c.Threads = max(1, runtime.GOMAXPROCS(0)/c.Workers)
	}
	if c.BatchTokens < 1 {
		c.BatchTokens = envconfig.MaxBatchTokens.Default
	}
	if c.BudgetBytes == 0 {
		c.BudgetBytes = DefaultBudget()
	}
	if c.MaxConcurrentRequests < 1 {
		c.MaxConcurrentRequests = envconfig.MaxConcurrentRequests.Default
	}
	if c.MaxConcurrentRequestsPerModel < 1 {
		c.MaxConcurrentRequestsPerModel = max(1, c.MaxConcurrentRequests/2)
	}
	if c.MaxQueuedSequences < 1 {
		c.MaxQueuedSequences = DefaultMaxQueuedSequences
	}
	if c.Observer == nil {
		c.Observer = noObserver{}
	}
	c.PullOnRequest = cmp.Or(c.PullOnRequest, PullDefaults)
}

// Engine runs catalog models: it loads them on demand into a memory-bounded
// pool and serves requests through each model's batcher.
type Engine struct {
	cfg      Config
	catalog  *catalog.Catalog
	pool     *Pool[*loadedModel]
	log      zerolog.Logger
	admitted *admission

	mu         sync.Mutex
	loadErrors map[string]error // last load failure per model, for /ready
}

// New creates an engine; no model is loaded until Preload or a request.
func New(cfg Config, cat *catalog.Catalog, log zerolog.Logger) *Engine {
	cfg.applyDefaults()
	e := &Engine{cfg: cfg, catalog: cat, log: log, admitted: newAdmission(cfg.MaxConcurrentRequests, cfg.MaxConcurrentRequestsPerModel), loadErrors: map[string]error{}}
	e.pool = NewPool[*loadedModel](modelLoader{e}, PoolConfig{BudgetBytes: cfg.BudgetBytes, Devices: cfg.Devices, KeepAlive: cfg.KeepAlive,
		Loaded: cfg.Observer.ModelLoaded, Evicted: cfg.Observer.ModelEvicted})
	return e
}

// Config returns the effective configuration, defaults applied.
func (e *Engine) Config() Config { return e.cfg }

// Preload loads and pins the default models so the first request does not
// wait. A default that cannot load is logged and reported by Ready; the
// engine still serves other models.
func (e *Engine) Preload(ctx context.Context) {
	for _, name := range e.defaults() {
		e.pool.Pin(name)
		_, release, err := e.acquire(ctx, name, askedAtStart)
		// A first download outlasts a request's wait; the defaults are
		// worth waiting for, so /ready turns 200 without a request.
		for errors.Is(err, errStillDownloading) && ctx.Err() == nil {
			_, release, err = e.acquire(ctx, name, askedAtStart)
		}
		if err != nil {
			e.log.Warn().Err(err).Str("model", name).Msg("default model not loaded")
			continue
		}
		release()
	}
}

func (e *Engine) defaults() []string {
	var names []string
	for _, n := range []string{e.cfg.DefaultEmbedding, e.cfg.DefaultReranker} {
		if n != "" {
			names = append(names, n)
		}
	}
	return names
}

// Ready returns nil when every default model is loaded.
func (e *Engine) Ready(ctx context.Context) error {
	for _, name := range e.defaults() {
		if e.pool.Loaded(name) {
			continue
		}
		e.mu.Lock()
		err := e.loadErrors[name]
		e.mu.Unlock()
		if err == nil {
			err = errors.New("loading")
		}
		return fmt.Errorf("default model %q is not ready: %w", name, err)
	}
	return nil
}

// MemoryUsed is what the loaded models have booked against the memory
// budgets, RAM's (Config().BudgetBytes) and every device's together.
func (e *Engine) MemoryUsed() uint64 { return e.pool.Used() }

// Models lists the catalog with each model's local state.
func (e *Engine) Models() []ModelStatus {
	entries := e.catalog.Entries()
	out := make([]ModelStatus, len(entries))
	for i, entry := range entries {
		out[i] = ModelStatus{Entry: entry, Loaded: e.pool.Loaded(entry.Name)}
		if fi, err := os.Stat(entry.ModelPath(e.cfg.ModelsDir)); err == nil {
			out[i].Downloaded, out[i].Size, out[i].Modified = true, fi.Size(), fi.ModTime()
		}
	}
	return out
}

// resolve finds the catalog entry for a requested name and checks it can
// serve kind; kind "" accepts either (/tokenize), defaulting to the
// embedding model, else the reranker.
func (e *Engine) resolve(name string, kind catalog.Kind) (catalog.Entry, error) {
	if name == "" {
		name = e.cfg.DefaultEmbedding
		if kind == catalog.KindRerank || kind == "" && name == "" {
			name = e.cfg.DefaultReranker
		}
		if name == "" {
			return catalog.Entry{}, fmt.Errorf("%w: no model given and no default %s model is configured", ErrInvalidInput, cmp.Or(string(kind), "embedding or rerank"))
		}
	}
	entry, err := e.catalog.Lookup(name)
	if errors.Is(err, catalog.ErrNotFound) {
		return entry, fmt.Errorf("%w: %w", ErrUnknownModel, err)
	}
	if err != nil {
		return entry, err
	}
	if !entry.Supported() {
		return entry, fmt.Errorf("%w: %q cannot run in llama.cpp: %s", ErrUnsupportedModel, entry.Name, entry.Reason)
	}
	if kind != "" && entry.Kind != kind {
		article := "a"
		if entry.Kind == catalog.KindEmbedding {
			article = "an"
		}
		return entry, fmt.Errorf("%w: %q is %s %s model and cannot serve %s requests", ErrWrongKind, entry.Name, article, entry.Kind, kind)
	}
	return entry, nil
}

// acquire takes a reference on a loaded model, downloading (as PullOnRequest
// lets who asks) and loading it if needed.
func (e *Engine) acquire(ctx context.Context, name string, asker pullAsker) (*loadedModel, func(), error) {
	var m *loadedModel
	var release func()
	var err error
	// A loaded model is on disk: skip the catalog lookup and file check,
	// which would otherwise run on every request.
	if !e.pool.Loaded(name) {
		var entry catalog.Entry
		if entry, err = e.catalog.Lookup(name); err == nil {
			err = e.ensureDownloaded(ctx, entry, asker)
		}
	}
	if err == nil {
		m, release, err = e.pool.Acquire(ctx, name)
	}
	if err != nil {
		if ctx.Err() == nil {
			// /ready reports why a default model is not loaded.
			e.mu.Lock()
			e.loadErrors[name] = err
			e.mu.Unlock()
		}
		return nil, nil, budgetError(err)
	}
	e.mu.Lock()
	delete(e.loadErrors, name)
	e.mu.Unlock()
	return m, release, nil
}

// open resolves a requested model name for kind, admits the request and
// takes a reference on the loaded model: what every request does before its
// model work. release gives both back.
func (e *Engine) open(ctx context.Context, name string, kind catalog.Kind) (m *loadedModel, release func(), err error) {
	entry, err := e.resolve(name, kind)
	if err != nil {
		return nil, nil, err
	}
	done, err := e.admitted.admit(entry.Name)
	if err != nil {
		return nil, nil, err
	}
	m, unref, err := e.acquire(ctx, entry.Name, askedByRequest)
	if err != nil {
		done()
		return nil, nil, err
	}
	return m, func() { unref(); done() }, nil
}

// Close unloads every model.
func (e *Engine) Close() { e.pool.Close() }

// DefaultBudget is three quarters of the memory available now (within the
// container's memory limit, if any), or 8 GiB where that cannot be read.
func DefaultBudget() uint64 {
	if avail, ok := availableMemory(); ok {
		return avail / 4 * 3
	}
	return 8 << 30
}

// DefaultDeviceBudget is the budget of a GPU with freeBytes of memory free
// at start: 90% of it. The rest is headroom for what llama.cpp allocates
// there beyond a model's weights and compute buffers as booked (the
// backend's own scratch and library workspaces, allocator rounding), which
// cannot be known before a load.
func DefaultDeviceBudget(freeBytes uint64) uint64 { return freeBytes / 10 * 9 }

func checkFinite(v []float32) error {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("%w; the GGUF may be corrupt: reconvert or download it again", ErrNonFinite)
		}
	}
	return nil
}

// budgetError says how a request sees a model that does not fit: models in
// use hold the memory (ErrBudget) is an overload a retry may get past; a
// model larger than the whole budget cannot be served until the operator
// changes something.
func budgetError(err error) error {
	switch {
	case errors.Is(err, ErrLargerThanBudget):
		return fmt.Errorf("%w: %w", ErrModelUnavailable, err)
	case errors.Is(err, ErrBudget):
		return fmt.Errorf("%w: %w", ErrOverloaded, err)
	}
	return err
}
