package llamarun

import (
	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/backend/llama"
)

var _ backend.SPLADELoader = Runtime{}

// LoadSPLADEHead loads a SPLADE model's masked-LM head onto ggml.
func (Runtime) LoadSPLADEHead(path string, p backend.SPLADEParams) (backend.SPLADEHead, error) {
	return llama.LoadSPLADEHead(path, llama.SPLADEParams{
		Hidden: p.Hidden, Eps: p.Eps, GPU: p.GPU, Threads: p.Threads, ChunkTokens: p.ChunkTokens,
	})
}
