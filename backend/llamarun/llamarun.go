package llamarun

import (
	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/backend/llama"
)

// Runtime loads GGUF models with llama.cpp; llama.Init must have been
// called first.
type Runtime struct{}

var _ backend.Runtime = Runtime{}

// LoadModel loads the GGUF at path.
func (Runtime) LoadModel(path string, p backend.ModelParams) (backend.Model, error) {
	m, err := llama.LoadModel(path, llama.ModelParams{GPULayers: p.GPULayers})
	if err != nil {
		return nil, err
	}
	return model{m}, nil
}

// model is a llama.Model; Meta, Tokenize, TokenText, IsControl,
// Detokenize and Close are its own.
type model struct{ *llama.Model }

func (m model) Info() backend.ModelInfo {
	i := m.Model.Info
	return backend.ModelInfo{
		Arch:         i.Arch,
		ClassOutputs: i.ClassOutputs,
		VocabSize:    i.VocabSize,
		ParamBytes:   i.ParamBytes,
		BOS:          i.BOS,
		EOS:          i.EOS,
		SEP:          i.SEP,
	}
}

// NewContext creates a context that takes llama.cpp's most sequences per
// batch, or one per token of a smaller batch: the batcher, not the context,
// decides how many it gets. More sequences than tokens can never fill a
// batch, and llama.cpp's graph reservation for mean pooling aborts the
// process on them (ggml_can_mul_mat).
func (m model) NewContext(p backend.ContextParams) (backend.InferenceContext, error) {
	pooling, err := llama.ParsePooling(p.Pooling)
	if err != nil {
		return nil, err
	}
	sequences := min(llama.MaxSequences, p.BatchTokens)
	c, err := m.Model.NewContext(llama.ContextParams{
		BatchTokens:    p.BatchTokens,
		Sequences:      sequences,
		Threads:        p.Threads,
		Pooling:        pooling,
		FlashAttention: p.FlashAttention,
	})
	if err != nil {
		return nil, err
	}
	return inferenceContext{c, sequences}, nil
}

// inferenceContext is a llama.Context; Encode, Width and Close are its own.
type inferenceContext struct {
	*llama.Context
	sequences int // llama.cpp's n_seq_max for this context
}

func (c inferenceContext) Pooling() string { return c.Context.Pooling().String() }

func (c inferenceContext) MaxSequences() int { return c.sequences }
