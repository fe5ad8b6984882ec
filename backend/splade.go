package backend

import (
	"fmt"
	"math"
	"os"

	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
)

// SPLADELoader is a Runtime that can run a SPLADE model's masked-LM head
// (backend/llamarun's, on ggml). Without one, SPLADE models serve nothing.
type SPLADELoader interface {
	LoadSPLADEHead(path string, p SPLADEParams) (SPLADEHead, error)
}

// SPLADEParams shape a SPLADE head at load.
type SPLADEParams struct {
	Hidden int     // the encoder's width
	Eps    float32 // the encoder's LayerNorm epsilon, which the head shares
	GPU    bool    // weights on the first GPU, when there is one
	// Threads and ChunkTokens: the CPU threads, and the most tokens one
	// computation takes (its buffer holds ChunkTokens × vocabulary logits).
	Threads, ChunkTokens int
}

// SPLADEHead computes a SPLADE model's masked-LM logits from token states.
type SPLADEHead interface {
	// Vocab is the number of logits per token.
	Vocab() int
	// MaxLogits returns, per sequence (its token states flattened), each
	// vocabulary entry's largest logit over its tokens.
	MaxLogits(seqs [][]float32) ([][]float32, error)
	Close()
}

// spladeChunkTokens is how many tokens the head computes at once. Larger
// chunks stream the decoder from memory fewer times: on a shared 2-core
// x86 VM, 512 tokens ran the head 1.4× faster than 128 (BenchmarkSPLADEHead
// in backend/llama). The logits of a chunk, 512 × 30522 floats for
// splade-v3, take 60 MiB.
const spladeChunkTokens = 512

// isSPLADE reports whether m's GGUF marks it SPLADE (convert/splade.go),
// read from its metadata once rather than per request.
func (m *loadedModel) isSPLADE() bool {
	m.m3.spladeOnce.Do(func() { m.m3.isSPLADE = m.model.Meta(keys.SPLADE) == "true" })
	return m.m3.isSPLADE
}

// spladeOnly refuses a dense or ColBERT output of a SPLADE model, which
// has neither (TEI answers a dense request to a SPLADE model likewise).
func spladeOnly(m *loadedModel, want Outputs) error {
	if !m.isSPLADE() || (!want.Dense && !want.ColBERT) {
		return nil
	}
	return fmt.Errorf("%w: %q is a SPLADE model: it serves sparse vectors only; use POST /embed_sparse (or \"outputs\": [\"sparse\"] on /v1/embeddings)",
		ErrWrongKind, m.entry.Name)
}

// loadSPLADE loads m's masked-LM head from the heads file its GGUF names,
// checked as loadHeads checks BGE-M3's, after booking its weights and
// buffers against m in the pool.
func (e *Engine) loadSPLADE(m *loadedModel) (SPLADEHead, error) {
	loader, ok := e.cfg.Runtime.(SPLADELoader)
	if !ok {
		return nil, fmt.Errorf("this build cannot run SPLADE heads")
	}
	modelPath := m.entry.ModelPath(e.cfg.ModelsDir)
	path, _, err := readHeadsFile(m.model, modelPath)
	if err != nil {
		return nil, err
	}
	if path == "" {
		return nil, fmt.Errorf("the GGUF is marked SPLADE but names no heads file; delete %s and convert it again", modelPath)
	}
	arch := m.model.Meta("general.architecture")
	hidden, err := positiveMeta(m.model, arch+".embedding_length")
	if err != nil {
		return nil, err
	}
	// From the file: llama.cpp formats a float's metadata with %f, which
	// turns BERT's 1e-12 into 0.
	meta, err := gguf.ReadMetadata(modelPath)
	if err != nil {
		return nil, err
	}
	v, _ := meta.Value(arch + ".attention.layer_norm_epsilon")
	eps, ok := v.(float32)
	if !ok || !(eps > 0) {
		return nil, fmt.Errorf("the GGUF has no valid %s.attention.layer_norm_epsilon (%v)", arch, v)
	}
	booking, err := e.spladeBooking(path, hidden)
	if err != nil {
		return nil, err
	}
	if err := e.pool.Grow(m.entry.Name, booking); err != nil {
		return nil, budgetError(fmt.Errorf("the SPLADE head of %s: %w", m.entry.Name, err))
	}
	head, err := loader.LoadSPLADEHead(path, SPLADEParams{
		Hidden: hidden, Eps: eps, GPU: e.spladeDevice() != HostMemory,
		Threads: e.cfg.Threads, ChunkTokens: spladeChunkTokens,
	})
	if err != nil {
		e.pool.Shrink(m.entry.Name, booking)
		return nil, err
	}
	return head, nil
}

// spladeDevice is where the head's weights go: the first GPU when models
// are offloaded (the head, like ModernBERT's encoder, does not split).
func (e *Engine) spladeDevice() string {
	if e.cfg.GPULayers == 0 || len(e.cfg.Devices) == 0 {
		return HostMemory
	}
	return e.cfg.Devices[0].Name
}

// spladeBooking is the head's memory: its weights (the heads file's
// tensors), the compute buffer of one chunk (the logits, which ggml adds
// the bias to in place, a quarter more for the allocator's slack, and a
// few hidden-wide rows per token) and, on a GPU, the logits' copy in host
// memory. TestSPLADEBooking checks it against
// resident memory: 87.1 MiB booked for 67.9 MiB of growth (1.28×) with a
// 30522-entry f32 decoder.
func (e *Engine) spladeBooking(path string, hidden int) (Booking, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	meta, err := gguf.ReadMetadata(path)
	if err != nil {
		return nil, err
	}
	var vocab uint64
	for _, t := range meta.Tensors {
		if t.Name == keys.MLMDecoderBias && len(t.Ne) == 1 {
			vocab = t.Ne[0]
		}
	}
	if vocab == 0 {
		return nil, fmt.Errorf("%s has no masked-LM head (%s)", path, keys.MLMDecoderBias)
	}
	// The head's C side indexes the vocabulary with 32-bit ints.
	if vocab > math.MaxInt32 {
		return nil, fmt.Errorf("%s: a masked-LM head over %d vocabulary entries is not a BERT vocabulary; convert the model again", path, vocab)
	}
	weights := uint64(fi.Size()) - min(uint64(meta.DataOffset), uint64(fi.Size()))
	chunk := uint64(spladeChunkTokens)
	compute := addSat(mulSat(chunk, vocab)*4*5/4, mulSat(8*chunk*4, uint64(max(hidden, 0)))) + 4<<20
	dev := e.spladeDevice()
	b := Booking{dev: addSat(weights, compute)}
	if dev != HostMemory {
		b[HostMemory] += chunk * vocab * 4
	}
	return b, nil
}

// spladeSparse turns one sequence's largest logits into its SPLADE
// weights, log(1 + relu(logit)), the nonzero ones by increasing id. The
// maximum of the logits is the maximum of the weights: log1p and relu are
// monotonic. As naver's SPLADE and TEI's --pooling splade, it covers every
// token, [CLS] and [SEP] included: both only mask padding.
func spladeSparse(maxLogits []float32) []SparseWeight {
	var out []SparseWeight
	for id, l := range maxLogits {
		if l > 0 {
			out = append(out, SparseWeight{ID: int32(id), Weight: float32(math.Log1p(float64(l)))})
		}
	}
	return out
}
