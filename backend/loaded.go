package backend

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
	"github.com/rerank-api/rerank-api/convert/segments"
)

// loadedModel is one GGUF ready to serve: its weights, its inference
// contexts (one per worker, all sharing the weights) and the batcher that
// feeds them.
type loadedModel struct {
	entry     catalog.Entry
	model     Model
	tokenizer textTokenizer
	contexts  []InferenceContext
	batcher   *Batcher
	// maxTokens is the longest sequence accepted: the catalog's max_length,
	// capped by the positions the model was trained with.
	maxTokens int
	width     int
	// pairs builds (query, document) sequences; nil unless the model scores
	// pairs (rank pooling).
	pairs *pairFormat
	// logitScores: the cross-encoder's own activation is the identity
	// (sentence-transformers' activation_fn), so its scores are its logits.
	logitScores bool
	// plan is the shape the contexts were made with; the token context
	// (tokens) takes it too.
	plan contextPlan
	// tokens encodes token vectors (/embed_all); made on first use, as few
	// models are ever asked for them (tokenEncoder).
	tokensMu sync.Mutex
	tokens   *tokenEncoder
	// m3 holds BGE-M3's sparse and ColBERT heads, or a SPLADE model's
	// masked-LM head, each loaded on first use.
	m3 lazyHeads
	// tasks are jina-embeddings-v3's task adapters; nil for other models
	// (tasks.go).
	tasks *taskAdapters
	// queues are the batchers made after the load (the token vectors',
	// each task's), which te_queue_size adds to batcher's. queuesMu is
	// held only to append or read, never while a context is made, so a
	// metrics scrape never waits for one.
	queuesMu sync.Mutex
	queues   []*Batcher
}

// addQueue registers a batcher made after the load (see queues).
func (m *loadedModel) addQueue(b *Batcher) {
	m.queuesMu.Lock()
	m.queues = append(m.queues, b)
	m.queuesMu.Unlock()
}

func (m *loadedModel) Close() {
	if m.tokens != nil {
		m.tokens.Close()
	}
	m.tasks.Close()
	m.m3.close()
	if m.batcher != nil {
		m.batcher.Close()
	}
	for _, c := range m.contexts {
		c.Close()
	}
	if m.tokenizer != nil {
		m.tokenizer.Close()
	}
	m.model.Close()
}

// modelLoader loads catalog models into the engine's pool.
type modelLoader struct{ e *Engine }

// Size books what Load will allocate, on the devices it will allocate it:
// the weights (the file, read whole into memory) and every worker's context,
// shaped from the GGUF's header as Load will shape it (bookModel places
// them).
func (l modelLoader) Size(name string) (Booking, error) {
	entry, err := l.e.catalog.Lookup(name)
	if err != nil {
		return nil, err
	}
	path := entry.ModelPath(l.e.cfg.ModelsDir)
	fi, err := os.Stat(path)
	if err != nil {
		return nil, notDownloaded(entry, path)
	}
	meta, err := gguf.ReadMetadata(path)
	if err == nil {
		err = checkFile(l.e.cfg.Runtime, meta, fi.Size())
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrModelUnavailable, name, err)
	}
	plan, err := planContexts(entry, ggufHeader{meta}, l.e.cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrModelUnavailable, name, err)
	}
	b, err := bookModel(meta, uint64(fi.Size()), plan.bufferBytes(l.e.cfg.Workers), l.e.cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrModelUnavailable, name, err)
	}
	return b, nil
}

func notDownloaded(entry catalog.Entry, path string) error {
	if entry.Source.Repo == "" {
		return fmt.Errorf("%w: model %q has no file at %s and no source to download it from; put its GGUF there", ErrModelUnavailable, entry.Name, path)
	}
	return fmt.Errorf("%w: model %q is not downloaded (no file at %s); run: rerank-api pull %s", ErrModelUnavailable, entry.Name, path, entry.Name)
}

func (l modelLoader) Load(name string) (*loadedModel, error) {
	entry, err := l.e.catalog.Lookup(name)
	if err != nil {
		return nil, err
	}
	if l.e.cfg.Runtime == nil {
		return nil, fmt.Errorf("%w: %s: the engine has no runtime to load models with", ErrModelUnavailable, name)
	}
	path := entry.ModelPath(l.e.cfg.ModelsDir)
	log := l.e.log.With().Str("model", name).Str("path", path).Logger()
	log.Info().Msg("loading model")
	start := time.Now()
	model, err := l.e.cfg.Runtime.LoadModel(path, ModelParams{GPULayers: l.e.cfg.GPULayers})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrModelUnavailable, err)
	}
	m := &loadedModel{entry: withModelDefaults(entry, model), model: model}
	if err := m.prepare(path, l.e.cfg, log); err != nil {
		m.Close()
		return nil, fmt.Errorf("%w: %s: %w", ErrModelUnavailable, name, err)
	}
	logLoaded(log, m, time.Since(start))
	return m, nil
}

// prepare readies a loaded model to serve: its tokenizer, its contexts,
// its pair format and its batcher. The caller closes m when it fails.
func (m *loadedModel) prepare(path string, cfg Config, log zerolog.Logger) error {
	plan, err := planContexts(m.entry, m.model, cfg)
	if err != nil {
		return err
	}
	m.maxTokens, m.plan = plan.maxTokens, plan
	if m.tokenizer, err = openTokenizer(m.model, path, m.entry, cfg, log); err != nil {
		return err
	}
	if m.tasks, err = readTaskAdapters(m.model, path); err != nil {
		return err
	}
	if m.contexts, err = newContexts(m.model, plan, m.entry.Pooling, cfg); err != nil {
		return err
	}
	m.width = m.contexts[0].Width()
	if m.contexts[0].Pooling() == catalog.PoolingRank {
		if err := m.preparePairs(log); err != nil {
			return err
		}
	}
	m.batcher = newModelBatcher(m.entry.Name, m.contexts, plan.capacity, m.costModel(), cfg)
	return nil
}

// openTokenizer opens the tokenizer newTextTokenizer chooses, and logs when
// it is not llama.cpp's own.
func openTokenizer(model Model, path string, entry catalog.Entry, cfg Config, log zerolog.Logger) (textTokenizer, error) {
	t, err := newTextTokenizer(model, path, entry, cfg)
	if err != nil {
		return nil, err
	}
	if _, ok := t.(japaneseTokenizer); ok {
		log.Info().Msg("tokenizing with BertJapaneseTokenizer (MeCab + WordPiece in Go) instead of llama.cpp")
	}
	return t, nil
}

// newContexts creates one context per worker, all sharing model's weights.
func newContexts(model Model, plan contextPlan, pooling string, cfg Config) ([]InferenceContext, error) {
	contexts := make([]InferenceContext, 0, cfg.Workers)
	for range cfg.Workers {
		c, err := model.NewContext(ContextParams{
			BatchTokens:    plan.capacity,
			Threads:        cfg.Threads,
			Pooling:        pooling,
			FlashAttention: plan.flashAttention,
			KVCacheF32:     plan.exactKV,
		})
		if err != nil {
			for _, c := range contexts {
				c.Close()
			}
			return nil, err
		}
		contexts = append(contexts, c)
	}
	return contexts, nil
}

// preparePairs gives a cross-encoder its (query, document) format and
// says how its scores are read.
func (m *loadedModel) preparePairs(log zerolog.Logger) error {
	m.logitScores = m.model.Meta(keys.ScoreActivation) == "none"
	pairs, err := newPairFormat(m.model, m.tokenizer, m.entry)
	if err != nil {
		return err
	}
	m.pairs = pairs
	if pairs.approximate {
		// Once per load: the GGUF came from a converter that does not
		// write convert/segments' rows, and llama.cpp gives every token
		// type 0 (src/models/bert.cpp hard-codes it).
		log.Warn().Msg("the model has two token types but its GGUF has no segment-B rows (" + segments.OffsetKey +
			"): documents are embedded as token type 0 and scores are approximate; reconvert it with rerank-api's converter")
	}
	return nil
}

// costModel is a fresh cost model for batches of m's contexts: each
// batcher learns its own, as contexts without pooling cost more per token.
func (m *loadedModel) costModel() *CostModel {
	return NewCostModel(modelShape(m.model, m.model.Info().ParamBytes, m.plan.flashAttention))
}

// newModelBatcher feeds contexts built for capacity tokens: batches of up
// to BatchTokens, as many as cost estimates cheapest per token, and a
// longer sequence alone. It reports to cfg.Observer as model.
func newModelBatcher(model string, contexts []InferenceContext, capacity int, cost *CostModel, cfg Config) *Batcher {
	encoders := make([]Encoder, len(contexts))
	for i, c := range contexts {
		encoders[i] = c
	}
	return NewBatcher(encoders, BatcherConfig{
		TokenBudget:        min(cfg.BatchTokens, capacity),
		MaxTokens:          capacity,
		MaxSequences:       contexts[0].MaxSequences(),
		MaxQueuedSequences: cfg.MaxQueuedSequences,
		Cost:               cost,
		ObserveQueued:      func(lengths []int) { cfg.Observer.SequencesQueued(model, lengths) },
		ObserveEncoded: func(sequences, tokens int, took time.Duration) {
			cfg.Observer.BatchEncoded(model, sequences, tokens, took)
		},
	})
}

func logLoaded(log zerolog.Logger, m *loadedModel, took time.Duration) {
	info := m.model.Info()
	log.Info().Str("arch", info.Arch).Int("dimensions", m.width).Int("max_tokens", m.maxTokens).
		Str("pooling", m.contexts[0].Pooling()).Uint64("weights_bytes", info.ParamBytes).
		Dur("load_ms", took).Msg("model loaded")
}
