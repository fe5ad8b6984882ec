package llama

// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"
)

// MaxSequences is llama.cpp's hard limit on sequences in one context
// (LLAMA_MAX_SEQ).
const MaxSequences = 256

// ContextParams fix a context's shape at creation. llama.cpp reserves its
// compute buffers for the worst case here, so they cannot change later.
type ContextParams struct {
	// BatchTokens is the most tokens one Encode call may carry (n_batch =
	// n_ubatch: encoders need every sequence whole in one micro-batch).
	BatchTokens int
	// Sequences is the most sequences one Encode call may carry (n_seq_max).
	Sequences int
	// Threads used for computation; 0 lets llama.cpp choose.
	Threads int
	// Pooling overrides the GGUF's pooling type; PoolingUnspecified keeps it.
	Pooling Pooling
	// FlashAttention keeps the attention buffer linear in BatchTokens.
	FlashAttention bool
	// KVCacheF32 stores a decoder's keys and values in f32 rather than
	// llama.cpp's default f16: without flash attention, a Qwen3 test model
	// then matches an f64 reference to 1e-7 instead of 2e-4.
	KVCacheF32 bool
}

// ErrInvalidBatch is returned by Encode for inputs llama.cpp would abort on.
var ErrInvalidBatch = errors.New("invalid batch")

// Context encodes batches of sequences into pooled vectors. Its methods
// serialize on an internal lock: llama.cpp contexts are not thread-safe.
type Context struct {
	mu      sync.Mutex
	model   *Model
	c       *C.struct_llama_context
	batch   C.struct_llama_batch
	params  ContextParams
	pooling Pooling
	width   int // floats per sequence in the output
}

// NewContext creates an inference context for embeddings or rank scores.
func (m *Model) NewContext(p ContextParams) (*Context, error) {
	if p.BatchTokens < 1 {
		return nil, fmt.Errorf("batch size must be at least 1 token, got %d", p.BatchTokens)
	}
	if p.Sequences < 1 || p.Sequences > MaxSequences {
		return nil, fmt.Errorf("sequences per batch must be 1..%d, got %d", MaxSequences, p.Sequences)
	}
	pooling := p.Pooling
	if pooling == PoolingUnspecified {
		pooling = m.Info.Pooling
		if pooling == PoolingNone {
			// A GGUF without pooling serves no sequence vectors; only a
			// caller asking for PoolingNone gets token vectors.
			return nil, errors.New(`model has no pooling type; rerank-api needs cls, mean, last or rank — set pooling in the catalog`)
		}
	}
	switch pooling {
	case PoolingMean, PoolingCLS, PoolingLast, PoolingNone:
	case PoolingRank:
		if m.Info.ClassOutputs < 1 {
			return nil, errors.New("rank pooling needs a classification head (cls.output) and this model has none")
		}
	default:
		return nil, fmt.Errorf("model has pooling %q; rerank-api needs cls, mean, last or rank — set pooling in the catalog", pooling)
	}

	cp := C.llama_context_default_params()
	cp.n_ctx = C.uint32_t(p.BatchTokens)
	cp.n_batch = C.uint32_t(p.BatchTokens)
	cp.n_ubatch = C.uint32_t(p.BatchTokens)
	cp.n_seq_max = C.uint32_t(p.Sequences)
	if p.Threads > 0 {
		cp.n_threads = C.int32_t(p.Threads)
		cp.n_threads_batch = C.int32_t(p.Threads)
	}
	cp.pooling_type = C.enum_llama_pooling_type(pooling)
	cp.embeddings = true
	cp.kv_unified = true
	cp.no_perf = true
	if p.KVCacheF32 {
		cp.type_k, cp.type_v = C.GGML_TYPE_F32, C.GGML_TYPE_F32
	}
	cp.flash_attn_type = C.LLAMA_FLASH_ATTN_TYPE_DISABLED
	if p.FlashAttention {
		cp.flash_attn_type = C.LLAMA_FLASH_ATTN_TYPE_ENABLED
	}
	var errs callErrors
	cc := C.rr_init_from_model(m.c, cp, errs.buf())
	if cc == nil {
		return nil, fmt.Errorf("cannot create context: %s", errs.text("llama.cpp refused the parameters (out of memory?)"))
	}
	ctx := &Context{
		model:   m,
		c:       cc,
		batch:   C.llama_batch_init(C.int32_t(p.BatchTokens), 0, 1),
		params:  p,
		pooling: pooling,
		width:   m.Info.Embedding,
	}
	if pooling == PoolingRank {
		ctx.width = m.Info.ClassOutputs
	}
	return ctx, nil
}

// Width is the number of floats Encode returns per sequence: the embedding
// size, or the number of classifier outputs under rank pooling. Under
// PoolingNone it is per token: a sequence of n tokens gets n × Width.
func (c *Context) Width() int { return c.width }

// Pooling is the pooling type the context computes.
func (c *Context) Pooling() Pooling { return c.pooling }

// Encode runs the model over seqs in one call and returns one pooled vector
// (or rank scores) per sequence; under PoolingNone, the sequence's token
// vectors one after another (the hidden states before pooling). Vectors
// are not normalized. The batch must fit the context: at most
// ContextParams.BatchTokens tokens in all, at most ContextParams.Sequences
// sequences, each no longer than the model's trained context and made of
// valid token ids. Violations return ErrInvalidBatch instead of reaching
// llama.cpp's asserts.
func (c *Context) Encode(seqs [][]int32) ([][]float32, error) {
	if err := c.validate(seqs); err != nil {
		return nil, err
	}
	if len(seqs) == 0 {
		return nil, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == nil {
		return nil, errors.New("context is closed")
	}
	n := 0
	for s, seq := range seqs {
		for pos, id := range seq {
			C.rr_batch_set(&c.batch, C.int32_t(n), C.llama_token(id), C.llama_pos(pos), C.llama_seq_id(s))
			n++
		}
	}
	c.batch.n_tokens = C.int32_t(n)

	var rc C.int32_t
	if c.model.Info.Causal {
		// Decoder models keep a KV cache; each batch starts from an empty one.
		C.llama_memory_clear(C.llama_get_memory(c.c), C.bool(true))
		rc = C.llama_decode(c.c, c.batch)
	} else {
		rc = C.llama_encode(c.c, c.batch)
	}
	if rc != 0 {
		return nil, fmt.Errorf("llama.cpp encode failed: %s", encodeFailure(rc))
	}

	if c.pooling == PoolingNone {
		return c.tokenVectors(seqs)
	}
	out := make([][]float32, len(seqs))
	flat := make([]float32, len(seqs)*c.width)
	for s := range seqs {
		p := C.llama_get_embeddings_seq(c.c, C.llama_seq_id(s))
		if p == nil {
			return nil, fmt.Errorf("llama.cpp returned no output for sequence %d", s)
		}
		v := flat[s*c.width : (s+1)*c.width : (s+1)*c.width]
		copy(v, unsafe.Slice((*float32)(unsafe.Pointer(p)), c.width))
		out[s] = v
	}
	return out, nil
}

// tokenVectors reads every token's output of the batch just run, by its
// index in the batch: rr_batch_set marks each token an output, and
// llama_get_embeddings_ith maps batch indices to llama.cpp's output order
// (a decoder's may differ). Called with c.mu held.
func (c *Context) tokenVectors(seqs [][]int32) ([][]float32, error) {
	out := make([][]float32, len(seqs))
	i := 0
	for s, seq := range seqs {
		v := make([]float32, len(seq)*c.width)
		for t := range seq {
			p := C.llama_get_embeddings_ith(c.c, C.int32_t(i))
			if p == nil {
				return nil, fmt.Errorf("llama.cpp returned no output for token %d of sequence %d", t, s)
			}
			copy(v[t*c.width:(t+1)*c.width], unsafe.Slice((*float32)(unsafe.Pointer(p)), c.width))
			i++
		}
		out[s] = v
	}
	return out, nil
}

func (c *Context) validate(seqs [][]int32) error {
	return validateBatch(seqs, c.params, &c.model.Info)
}

// validateBatch checks a batch against a context's shape and its model,
// so that nothing ggml would abort on reaches it.
func validateBatch(seqs [][]int32, p ContextParams, info *ModelInfo) error {
	if len(seqs) > p.Sequences {
		return fmt.Errorf("%w: %d sequences, context holds %d", ErrInvalidBatch, len(seqs), p.Sequences)
	}
	total := 0
	for i, seq := range seqs {
		if len(seq) == 0 {
			return fmt.Errorf("%w: sequence %d is empty", ErrInvalidBatch, i)
		}
		if len(seq) > info.TrainContext {
			return fmt.Errorf("%w: sequence %d has %d tokens, the model's maximum is %d", ErrInvalidBatch, i, len(seq), info.TrainContext)
		}
		for _, id := range seq {
			if id < 0 || int(id) >= info.VocabSize {
				return fmt.Errorf("%w: token id %d is outside the vocabulary [0, %d)", ErrInvalidBatch, id, info.VocabSize)
			}
		}
		total += len(seq)
	}
	if total > p.BatchTokens {
		return fmt.Errorf("%w: %d tokens, context holds %d per call", ErrInvalidBatch, total, p.BatchTokens)
	}
	return nil
}

// Close frees the context. It waits for a running Encode to finish.
func (c *Context) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c != nil {
		C.llama_batch_free(c.batch)
		C.llama_free(c.c)
		c.c = nil
	}
}

// encodeFailure says what a nonzero llama_encode or llama_decode code means
// (llama.h and llama_context::encode). The code is the call's own; the log
// line llama.cpp writes beside it is process-wide and may be another's.
func encodeFailure(rc C.int32_t) string {
	switch rc {
	case -1:
		return "invalid batch (code -1)"
	case -2:
		return "out of memory for the batch (code -2)"
	case 1:
		return "no KV cache slot for the batch (code 1)"
	case 2:
		return "aborted (code 2)"
	}
	return fmt.Sprintf("computation failed (code %d)", int(rc))
}
