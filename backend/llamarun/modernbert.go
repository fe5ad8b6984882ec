package llamarun

import (
	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/backend/llama"
)

func loadModernBERT(path string, p backend.ModelParams) (backend.Model, error) {
	m, err := llama.LoadModernBERT(path, llama.ModelParams{GPULayers: p.GPULayers})
	if err != nil {
		return nil, err
	}
	return modernBERT{m}, nil
}

// modernBERT is a llama.ModernBERT; Meta, Tokenize, TokenText, IsControl,
// Detokenize and Close are its own.
type modernBERT struct{ *llama.ModernBERT }

func (m modernBERT) Info() backend.ModelInfo { return info(m.ModernBERT.Info) }

// NewContext takes as many sequences per batch as a llama.cpp context
// (model.NewContext): the batcher decides how many a batch gets.
func (m modernBERT) NewContext(p backend.ContextParams) (backend.InferenceContext, error) {
	lp, err := contextParams(p)
	if err != nil {
		return nil, err
	}
	c, err := m.ModernBERT.NewContext(lp)
	if err != nil {
		return nil, err
	}
	return modernBERTContext{c, lp.Sequences}, nil
}

// modernBERTContext is a llama.ModernBERTContext; Encode, Width and Close
// are its own.
type modernBERTContext struct {
	*llama.ModernBERTContext
	sequences int
}

func (c modernBERTContext) Pooling() string { return c.ModernBERTContext.Pooling().String() }

func (c modernBERTContext) MaxSequences() int { return c.sequences }
