package backend

import (
	"fmt"
	"os"
	"time"

	"github.com/rerank-api/rerank-api/backend/llama"
	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/convert/keys"
	"github.com/rerank-api/rerank-api/convert/segments"
)

// loadedModel is one GGUF ready to serve: its weights, its inference
// contexts (one per worker, all sharing the weights) and the batcher that
// feeds them.
type loadedModel struct {
	entry     catalog.Entry
	model     *llama.Model
	tokenizer textTokenizer
	contexts  []*llama.Context
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
}

func (m *loadedModel) Close() {
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

// perContextBytes approximates one context's compute and output buffers.
// Measured for BERT-base with flash attention: ~11 MiB at 512 tokens per
// batch, ~500 MiB at 8192 (3.4 GiB without flash attention); 64 KiB per token of capacity plus
// a fixed 32 MiB covers both with margin.
func perContextBytes(batchTokens int) uint64 {
	return 32<<20 + uint64(batchTokens)*64<<10
}

func (l modelLoader) Size(name string) (uint64, error) {
	entry, err := l.e.catalog.Lookup(name)
	if err != nil {
		return 0, err
	}
	path := entry.ModelPath(l.e.cfg.ModelsDir)
	fi, err := os.Stat(path)
	if err != nil {
		return 0, notDownloaded(entry, path)
	}
	capacity := max(l.e.cfg.BatchTokens, entry.MaxLength)
	return uint64(fi.Size()) + uint64(l.e.cfg.Workers)*perContextBytes(capacity), nil
}

func notDownloaded(entry catalog.Entry, path string) error {
	if entry.Source.Repo == "" {
		return fmt.Errorf("%w: model %q has no file at %s and no source to download it from; put its GGUF there", ErrModelUnavailable, entry.Name, path)
	}
	return fmt.Errorf("%w: model %q is not downloaded (no file at %s); run: rerank-api pull %s", ErrModelUnavailable, entry.Name, path, entry.Name)
}

func (l modelLoader) Load(name string) (*loadedModel, error) {
	cfg := l.e.cfg
	entry, err := l.e.catalog.Lookup(name)
	if err != nil {
		return nil, err
	}
	path := entry.ModelPath(cfg.ModelsDir)
	log := l.e.log.With().Str("model", name).Str("path", path).Logger()
	log.Info().Msg("loading model")
	start := time.Now()
	pooling, err := llama.ParsePooling(entry.Pooling)
	if err != nil {
		return nil, fmt.Errorf("%w: catalog entry %q: %w", ErrModelUnavailable, name, err)
	}
	model, err := llama.LoadModel(path, llama.ModelParams{GPULayers: cfg.GPULayers})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrModelUnavailable, err)
	}
	entry = withModelDefaults(entry, model)
	m := &loadedModel{entry: entry, model: model, maxTokens: model.Info.TrainContext}
	if m.tokenizer, err = newTextTokenizer(model, path, entry, cfg); err != nil {
		m.Close()
		return nil, fmt.Errorf("%w: %s: %w", ErrModelUnavailable, name, err)
	}
	if _, ok := m.tokenizer.(japaneseTokenizer); ok {
		log.Info().Msg("tokenizing with BertJapaneseTokenizer (MeCab + WordPiece in Go) instead of llama.cpp")
	}
	if entry.MaxLength > 0 && entry.MaxLength < m.maxTokens {
		m.maxTokens = entry.MaxLength
	}
	capacity := max(cfg.BatchTokens, m.maxTokens)
	for range cfg.Workers {
		c, err := model.NewContext(llama.ContextParams{
			BatchTokens:    capacity,
			Sequences:      llama.MaxSequences,
			Threads:        cfg.Threads,
			Pooling:        pooling,
			FlashAttention: cfg.FlashAttention,
		})
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("%w: %s: %w", ErrModelUnavailable, name, err)
		}
		m.contexts = append(m.contexts, c)
	}
	m.width = m.contexts[0].Width()
	if m.contexts[0].Pooling() == llama.PoolingRank {
		m.logitScores = model.Meta(keys.ScoreActivation) == "none"
		if m.pairs, err = newPairFormat(model, m.tokenizer, entry); err != nil {
			m.Close()
			return nil, fmt.Errorf("%w: %s: %w", ErrModelUnavailable, name, err)
		}
		if m.pairs.approximate {
			// Once per load: the GGUF came from a converter that does not
			// write convert/segments' rows, and llama.cpp gives every token
			// type 0 (src/models/bert.cpp hard-codes it).
			log.Warn().Msg("the model has two token types but its GGUF has no segment-B rows (" + segments.OffsetKey +
				"): documents are embedded as token type 0 and scores are approximate; reconvert it with rerank-api's converter")
		}
	}
	encoders := make([]Encoder, len(m.contexts))
	for i, c := range m.contexts {
		encoders[i] = c
	}
	m.batcher = NewBatcher(encoders, BatcherConfig{
		TokenBudget:        min(cfg.BatchTokens, capacity),
		MaxTokens:          capacity,
		MaxSequences:       llama.MaxSequences,
		MaxQueuedSequences: cfg.MaxQueuedSequences,
	})
	log.Info().Str("arch", model.Info.Arch).Int("dimensions", m.width).Int("max_tokens", m.maxTokens).
		Str("pooling", m.contexts[0].Pooling().String()).Uint64("weights_bytes", model.Info.ParamBytes).
		Dur("load_ms", time.Since(start)).Msg("model loaded")
	return m, nil
}
