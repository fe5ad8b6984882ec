package llama

// #include <stdlib.h>
// #include "splade.h"
import "C"

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// SPLADEParams shape a SPLADE head at load.
type SPLADEParams struct {
	// Hidden is the encoder's width, which the head's input must have.
	Hidden int
	// Eps is the encoder's LayerNorm epsilon (config.layer_norm_eps),
	// which the head's LayerNorm shares in transformers.
	Eps float32
	// GPU puts the weights on the first GPU, when ggml has one.
	GPU bool
	// Threads for the CPU backend; 0 lets ggml choose.
	Threads int
	// ChunkTokens is the most tokens one graph computes: the compute
	// buffer holds ChunkTokens × vocabulary logits.
	ChunkTokens int
}

// SPLADEHead is a SPLADE model's masked-LM head on ggml (splade.c). Its
// methods serialize on an internal lock: a ggml scheduler is not
// thread-safe.
type SPLADEHead struct {
	mu     sync.Mutex
	c      *C.struct_rr_splade
	hidden int
	vocab  int
}

// LoadSPLADEHead reads the masked-LM head from the heads GGUF at path.
// Init must have been called.
func LoadSPLADEHead(path string, p SPLADEParams) (*SPLADEHead, error) {
	if p.Hidden < 1 || p.ChunkTokens < 1 || !(p.Eps > 0) {
		return nil, fmt.Errorf("a SPLADE head needs a width, a chunk and a LayerNorm epsilon, got %d, %d and %g", p.Hidden, p.ChunkTokens, p.Eps)
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	errBuf := make([]byte, C.RR_SP_ERR_SIZE)
	var vocab C.int32_t
	c := C.rr_splade_load(cpath, C.int32_t(p.Hidden), C.float(p.Eps), C.bool(p.GPU), C.int32_t(p.Threads), C.int32_t(p.ChunkTokens),
		&vocab, (*C.char)(unsafe.Pointer(&errBuf[0])))
	if c == nil {
		return nil, fmt.Errorf("cannot load the SPLADE head %s: %s", path, cString(errBuf))
	}
	return &SPLADEHead{c: c, hidden: p.Hidden, vocab: int(vocab)}, nil
}

// Vocab is the number of logits per token: the sparse vector's dimension.
func (h *SPLADEHead) Vocab() int { return h.vocab }

// Bytes is the size of the head's weights.
func (h *SPLADEHead) Bytes() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.c == nil {
		return 0
	}
	return uint64(C.rr_splade_size(h.c))
}

// MaxLogits returns, per sequence, each vocabulary entry's largest logit
// over the sequence's tokens: seqs[i] holds sequence i's token states,
// Hidden floats each, token after token.
func (h *SPLADEHead) MaxLogits(seqs [][]float32) ([][]float32, error) {
	if len(seqs) == 0 {
		return nil, nil
	}
	start := make([]C.int32_t, len(seqs)+1)
	total := 0
	for i, s := range seqs {
		if len(s) == 0 || len(s)%h.hidden != 0 {
			return nil, fmt.Errorf("sequence %d has %d floats, want a positive multiple of the width %d", i, len(s), h.hidden)
		}
		total += len(s)
		start[i+1] = C.int32_t(total / h.hidden)
	}
	states := make([]float32, 0, total)
	for _, s := range seqs {
		states = append(states, s...)
	}
	flat := make([]float32, len(seqs)*h.vocab)
	errBuf := make([]byte, C.RR_SP_ERR_SIZE)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.c == nil {
		return nil, fmt.Errorf("the SPLADE head is closed")
	}
	rc := C.rr_splade_max_logits(h.c, (*C.float)(unsafe.Pointer(&states[0])), &start[0], C.int32_t(len(seqs)),
		(*C.float)(unsafe.Pointer(&flat[0])), (*C.char)(unsafe.Pointer(&errBuf[0])))
	runtime.KeepAlive(states)
	if rc != 0 {
		return nil, fmt.Errorf("SPLADE head: %s", cString(errBuf))
	}
	out := make([][]float32, len(seqs))
	for i := range out {
		out[i] = flat[i*h.vocab : (i+1)*h.vocab : (i+1)*h.vocab]
	}
	return out, nil
}

// Close frees the head; later calls fail.
func (h *SPLADEHead) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.c != nil {
		C.rr_splade_free(h.c)
		h.c = nil
	}
}
