package llama

// #include <stdlib.h>
// #include "modernbert.h"
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"
)

// ModernBERTContext encodes batches of sequences with a ModernBERT. Its
// methods serialize on an internal lock: a ggml scheduler is not
// thread-safe.
type ModernBERTContext struct {
	mu      sync.Mutex
	model   *ModernBERT
	c       *C.struct_rr_mb_ctx
	params  ContextParams
	pooling Pooling
	width   int
}

// NewContext creates a context computing p.Pooling (mean, cls or rank;
// unspecified takes the GGUF's). The graph is built per batch, so the
// compute buffers grow to the largest batch seen rather than being
// reserved here.
func (m *ModernBERT) NewContext(p ContextParams) (*ModernBERTContext, error) {
	if p.BatchTokens < 1 || p.Sequences < 1 {
		return nil, fmt.Errorf("a context needs at least 1 token and 1 sequence per batch, got %d and %d", p.BatchTokens, p.Sequences)
	}
	pooling := p.Pooling
	if pooling == PoolingUnspecified {
		pooling = m.Info.Pooling
	}
	width := m.Info.Embedding
	switch pooling {
	case PoolingMean, PoolingCLS:
	case PoolingRank:
		if m.Info.ClassOutputs < 1 {
			return nil, errors.New("rank pooling needs a classification head (cls.output) and this model has none")
		}
		width = m.Info.ClassOutputs
	default:
		return nil, fmt.Errorf("ModernBERT models pool by cls, mean or rank, not %q — set pooling in the catalog", pooling)
	}
	errBuf := make([]byte, C.RR_MB_ERR_SIZE)
	cc := C.rr_mb_ctx_new(m.c, C.int32_t(p.Threads), C.bool(p.FlashAttention), (*C.char)(unsafe.Pointer(&errBuf[0])))
	if cc == nil {
		return nil, fmt.Errorf("cannot create context: %s", cString(errBuf))
	}
	return &ModernBERTContext{model: m, c: cc, params: p, pooling: pooling, width: width}, nil
}

// Width is the number of floats Encode returns per sequence.
func (c *ModernBERTContext) Width() int { return c.width }

// Pooling is the pooling the context computes.
func (c *ModernBERTContext) Pooling() Pooling { return c.pooling }

// Encode runs seqs in one graph, each sequence attending only to itself,
// and returns one pooled vector (or the head's logits) per sequence,
// unnormalized. The batch must fit the context as Context.Encode's must;
// violations return ErrInvalidBatch.
func (c *ModernBERTContext) Encode(seqs [][]int32) ([][]float32, error) {
	if err := validateBatch(seqs, c.params, &c.model.Info); err != nil {
		return nil, err
	}
	if len(seqs) == 0 {
		return nil, nil
	}
	tokens := make([]C.int32_t, 0, c.params.BatchTokens)
	start := make([]C.int32_t, 1, len(seqs)+1)
	for _, seq := range seqs {
		for _, id := range seq {
			tokens = append(tokens, C.int32_t(id))
		}
		start = append(start, C.int32_t(len(tokens)))
	}
	flat := make([]float32, len(seqs)*c.width)
	errBuf := make([]byte, C.RR_MB_ERR_SIZE)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == nil {
		return nil, errors.New("context is closed")
	}
	// The slices are Go memory without Go pointers inside, which C may
	// read and write for the duration of the call.
	rc := C.rr_mb_encode(c.c, &tokens[0], &start[0], C.int32_t(len(seqs)), C.int32_t(c.pooling),
		(*C.float)(unsafe.Pointer(&flat[0])), (*C.char)(unsafe.Pointer(&errBuf[0])))
	if rc != 0 {
		return nil, fmt.Errorf("ModernBERT encode failed: %s", cString(errBuf))
	}
	out := make([][]float32, len(seqs))
	for s := range out {
		out[s] = flat[s*c.width : (s+1)*c.width : (s+1)*c.width]
	}
	return out, nil
}

// ComputeBytes is the memory the context's compute buffers hold on its
// devices, which grow to the largest batch encoded so far; each Encode
// also holds its two n×n f16 masks on the host while it runs.
func (c *ModernBERTContext) ComputeBytes() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == nil {
		return 0
	}
	return uint64(C.rr_mb_ctx_compute_size(c.c))
}

// Close frees the context. It waits for a running Encode to finish.
func (c *ModernBERTContext) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c != nil {
		C.rr_mb_ctx_free(c.c)
		c.c = nil
	}
}
