package llamarun

import (
	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/backend/ggufcheck"
	"github.com/rerank-api/rerank-api/backend/llama"
	"github.com/rerank-api/rerank-api/convert/gguf"
)

// Runtime loads GGUF models with llama.cpp; llama.Init must have been
// called first.
type Runtime struct{}

var (
	_ backend.Runtime     = Runtime{}
	_ backend.FileChecker = Runtime{}
)

// CheckFile refuses what llama.cpp would abort on, or refuse, loading the
// file (backend/ggufcheck), before it ever opens it.
func (Runtime) CheckFile(meta *gguf.Metadata, fileSize int64) error {
	return ggufcheck.Check(meta, fileSize)
}

// LoadModel loads the GGUF at path: ModernBERT files with rerank-api's own
// ggml encoder (llama.cpp has no such architecture), the rest with
// llama.cpp.
func (Runtime) LoadModel(path string, p backend.ModelParams) (backend.Model, error) {
	if llama.IsModernBERT(path) {
		return loadModernBERT(path, p)
	}
	m, err := llama.LoadModel(path, llama.ModelParams{GPULayers: p.GPULayers})
	if err != nil {
		return nil, err
	}
	return model{m}, nil
}

// model is a llama.Model; Meta, Tokenize, TokenText, IsControl,
// Detokenize and Close are its own.
type model struct{ *llama.Model }

func (m model) Info() backend.ModelInfo { return info(m.Model.Info) }

func info(i llama.ModelInfo) backend.ModelInfo {
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
	lp, err := contextParams(p)
	if err != nil {
		return nil, err
	}
	c, err := m.Model.NewContext(lp)
	if err != nil {
		return nil, err
	}
	if p.Adapter != "" {
		a, err := m.Model.Adapter(p.Adapter)
		if err == nil {
			err = c.SetAdapter(a)
		}
		if err != nil {
			c.Close()
			return nil, err
		}
	}
	return inferenceContext{c, lp.Sequences}, nil
}

// contextParams translates backend's context shape into llama's.
func contextParams(p backend.ContextParams) (llama.ContextParams, error) {
	pooling, err := llama.ParsePooling(p.Pooling)
	return llama.ContextParams{
		BatchTokens:    p.BatchTokens,
		Sequences:      min(llama.MaxSequences, p.BatchTokens),
		Threads:        p.Threads,
		Pooling:        pooling,
		FlashAttention: p.FlashAttention,
		KVCacheF32:     p.KVCacheF32,
	}, err
}

// inferenceContext is a llama.Context; Encode, Width and Close are its own.
type inferenceContext struct {
	*llama.Context
	sequences int // llama.cpp's n_seq_max for this context
}

func (c inferenceContext) Pooling() string { return c.Context.Pooling().String() }

func (c inferenceContext) MaxSequences() int { return c.sequences }
