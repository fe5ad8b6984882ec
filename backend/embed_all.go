package backend

import (
	"context"
	"fmt"
	"os"

	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/convert/gguf"
)

// PoolingNone is the context pooling that returns every token's vector
// (llama.cpp's LLAMA_POOLING_TYPE_NONE) rather than one per sequence. The
// catalog never names it: a model's own contexts pool, and only its token
// context (EmbedAll) asks for this.
const PoolingNone = "none"

// EmbedAll returns, per input, one vector per token: the model's hidden
// states before pooling, unnormalized (TEI's POST /embed_all). Inputs are
// tokenized and truncated as Embed does them; Normalize and Dimensions do
// not apply and must be unset.
func (e *Engine) EmbedAll(ctx context.Context, req EmbedRequest) (*TokenEmbedResult, error) {
	if len(req.Inputs) == 0 {
		return nil, fmt.Errorf("%w: no input", ErrInvalidInput)
	}
	if req.Dimensions != 0 || req.Normalize != nil {
		return nil, fmt.Errorf("%w: token vectors are neither normalized nor cut to fewer dimensions", ErrInvalidInput)
	}
	if req.MaxTokens < 0 {
		return nil, fmt.Errorf("%w: max tokens must be positive", ErrInvalidInput)
	}
	m, release, err := e.open(ctx, req.Model, catalog.KindEmbedding)
	if err != nil {
		return nil, err
	}
	defer release()
	seqs, tokens, err := m.tokenizeAll(req)
	if err != nil {
		return nil, err
	}
	states, stats, err := e.tokenStates(ctx, m, seqs)
	if err != nil {
		return nil, err
	}
	return &TokenEmbedResult{Model: m.entry.Name, Vectors: states, PromptTokens: tokens, Stats: stats}, nil
}

// tokenStates encodes seqs with m's token context: per sequence, one
// hidden state per token (EmbedAll's vectors, and what BGE-M3's heads
// read).
func (e *Engine) tokenStates(ctx context.Context, m *loadedModel, seqs [][]int32) ([][][]float32, BatchStats, error) {
	enc, err := e.tokenEncoder(m)
	if err != nil {
		return nil, BatchStats{}, err
	}
	flat, stats, err := enc.batcher.Submit(ctx, seqs)
	if err != nil {
		return nil, BatchStats{}, err
	}
	states := make([][][]float32, len(seqs))
	for i, v := range flat {
		if len(v) != len(seqs[i])*enc.width {
			return nil, BatchStats{}, fmt.Errorf("the token context returned %d floats for %d tokens of width %d", len(v), len(seqs[i]), enc.width)
		}
		if err := checkFinite(v); err != nil {
			return nil, BatchStats{}, err
		}
		rows := make([][]float32, len(seqs[i]))
		for t := range rows {
			rows[t] = v[t*enc.width : (t+1)*enc.width : (t+1)*enc.width]
		}
		states[i] = rows
	}
	return states, stats, nil
}

// tokenEncoder is a model's context without pooling and the batcher that
// feeds it. A model gets one on its first EmbedAll, not at load: it takes
// a whole context's buffers (as much as a worker's) and most models are
// never asked for token vectors. One context bounds that memory; its
// batcher queues, bounds and cancels requests as the model's own does.
type tokenEncoder struct {
	context InferenceContext
	batcher *Batcher
	width   int // floats per token
}

func (t *tokenEncoder) Close() {
	t.batcher.Close()
	t.context.Close()
}

// tokenEncoder returns m's token encoder, making it the first time: its
// memory is booked against m in the pool first (evicting idle models as a
// load would), so the budget still holds what llama.cpp allocates.
func (e *Engine) tokenEncoder(m *loadedModel) (*tokenEncoder, error) {
	m.tokensMu.Lock()
	defer m.tokensMu.Unlock()
	if m.tokens != nil {
		return m.tokens, nil
	}
	extra, err := e.tokenContextBooking(m)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrModelUnavailable, m.entry.Name, err)
	}
	if err := e.pool.Grow(m.entry.Name, extra); err != nil {
		return nil, budgetError(fmt.Errorf("token vectors of %s: %w", m.entry.Name, err))
	}
	c, err := m.model.NewContext(ContextParams{
		BatchTokens:    m.plan.capacity,
		Threads:        e.cfg.Threads,
		Pooling:        PoolingNone,
		FlashAttention: m.plan.flashAttention,
		KVCacheF32:     m.plan.exactKV,
	})
	if err != nil {
		e.pool.Shrink(m.entry.Name, extra)
		return nil, fmt.Errorf("%w: %s: token vectors: %w", ErrModelUnavailable, m.entry.Name, err)
	}
	contexts := []InferenceContext{c}
	m.tokens = &tokenEncoder{context: c, batcher: newModelBatcher(m.entry.Name, contexts, m.plan.capacity, m.costModel(), e.cfg), width: c.Width()}
	m.addQueue(m.tokens.batcher)
	return m.tokens, nil
}

// tokenContextBooking is the memory one context without pooling takes, on
// the devices bookModel places a model's contexts: a worker's buffers
// (contextPlan.bufferBytes), plus the output buffer, which holds every
// token's vector (capacity × n_embd floats) instead of one per sequence.
func (e *Engine) tokenContextBooking(m *loadedModel) (Booking, error) {
	path := m.entry.ModelPath(e.cfg.ModelsDir)
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	meta, err := gguf.ReadMetadata(path)
	if err != nil {
		return nil, err
	}
	header := ggufHeader{meta}
	width, err := positiveMeta(header, header.Meta("general.architecture")+".embedding_length")
	if err != nil {
		return nil, err
	}
	bytes := m.plan.bufferBytes(1) + uint64(m.plan.capacity)*uint64(width)*4
	with, err := bookModel(meta, uint64(fi.Size()), bytes, e.cfg)
	if err != nil {
		return nil, err
	}
	without, err := bookModel(meta, uint64(fi.Size()), 0, e.cfg)
	if err != nil {
		return nil, err
	}
	for dev := range with {
		with[dev] -= without[dev]
	}
	return with, nil
}
