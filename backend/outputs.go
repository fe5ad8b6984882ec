package backend

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/rerank-api/rerank-api/catalog"
)

// Outputs selects the representations EmbedOutputs computes. BGE-M3's
// three come from one encode: dense from the pooled token states, sparse
// and ColBERT from its heads on the same states.
type Outputs struct {
	Dense, Sparse, ColBERT bool
}

// OutputsRequest asks for several representations of each input.
// EmbedRequest's Normalize and Dimensions apply to the dense vectors only;
// ColBERT vectors are always normalized, as FlagEmbedding returns them.
type OutputsRequest struct {
	EmbedRequest
	Outputs Outputs
	// SparseText fills each sparse weight's token text.
	SparseText bool
}

// OutputsResult holds, per input in input order, what was asked for; the
// others are nil.
type OutputsResult struct {
	Model string
	Dense [][]float32
	// Sparse is per input its token ids' weights, by increasing id.
	Sparse [][]SparseWeight
	// ColBERT is per input one vector per token after the first.
	ColBERT      [][][]float32
	PromptTokens int
	Stats        BatchStats
}

// EmbedOutputs computes the requested outputs of every input. Dense alone
// is Embed, the pooled context /v1/embeddings uses; with sparse or ColBERT
// every output comes from one encode of the model's token context, dense
// pooled from its states as the model's own pooling would.
func (e *Engine) EmbedOutputs(ctx context.Context, req OutputsRequest) (*OutputsResult, error) {
	if !req.Outputs.Sparse && !req.Outputs.ColBERT {
		if !req.Outputs.Dense {
			return nil, fmt.Errorf("%w: no output asked for; want dense, sparse or colbert", ErrInvalidInput)
		}
		res, err := e.Embed(ctx, req.EmbedRequest)
		if err != nil {
			return nil, err
		}
		return &OutputsResult{Model: res.Model, Dense: res.Vectors, PromptTokens: res.PromptTokens, Stats: res.Stats}, nil
	}
	if len(req.Inputs) == 0 {
		return nil, fmt.Errorf("%w: no input", ErrInvalidInput)
	}
	if req.Dimensions < 0 || req.MaxTokens < 0 {
		return nil, fmt.Errorf("%w: dimensions and max tokens must be positive", ErrInvalidInput)
	}
	m, release, err := e.open(ctx, req.Model, catalog.KindEmbedding)
	if err != nil {
		return nil, err
	}
	defer release()
	heads, err := e.headsFor(m, req.Outputs)
	if err != nil {
		return nil, err
	}
	splade, err := e.spladeFor(m)
	if err != nil {
		return nil, err
	}
	if err := m.checkDimensions(req.Dimensions); err != nil {
		return nil, err
	}
	seqs, tokens, err := m.tokenizeAll(req.EmbedRequest)
	if err != nil {
		return nil, err
	}
	states, stats, err := e.tokenStates(ctx, m, seqs)
	if err != nil {
		return nil, err
	}
	normalize := m.entry.ShouldNormalize()
	if req.Normalize != nil {
		normalize = *req.Normalize
	}
	res := &OutputsResult{Model: m.entry.Name, PromptTokens: tokens, Stats: stats}
	o := req.Outputs
	if o.Dense {
		res.Dense = make([][]float32, len(seqs))
	}
	if o.Sparse {
		res.Sparse = make([][]SparseWeight, len(seqs))
	}
	if o.ColBERT {
		res.ColBERT = make([][][]float32, len(seqs))
	}
	special := m.m3.special // headsFor above set it
	var spladeLogits [][]float32
	if splade != nil {
		// One call for the whole request: the head's matrix product is
		// fastest over many tokens at once.
		if spladeLogits, err = splade.MaxLogits(flattenStates(states)); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrModelUnavailable, m.entry.Name, err)
		}
	}
	// One sequence per goroutine, up to GOMAXPROCS: the ColBERT head is a
	// matrix product per token, which one core would serialize.
	forEach(len(seqs), func(i int) {
		if o.Dense {
			v := m.pool(states[i])
			if req.Dimensions > 0 {
				v = v[:req.Dimensions]
			}
			if normalize {
				l2Normalize(v)
			}
			res.Dense[i] = v
		}
		if o.Sparse {
			if spladeLogits != nil {
				res.Sparse[i] = spladeSparse(spladeLogits[i])
			} else {
				res.Sparse[i] = heads.sparse(seqs[i], states[i], special)
			}
			if req.SparseText {
				for j := range res.Sparse[i] {
					res.Sparse[i][j].Text = m.model.TokenText(res.Sparse[i][j].ID)
				}
			}
		}
		if o.ColBERT {
			res.ColBERT[i] = heads.colbert(states[i])
		}
	})
	return res, nil
}

// pool reduces one sequence's token states to its dense vector as the
// model's pooled context does: the first token (CLS), the last, or the
// mean of all.
func (m *loadedModel) pool(states [][]float32) []float32 {
	v := make([]float32, len(states[0]))
	switch m.contexts[0].Pooling() {
	case catalog.PoolingCLS:
		copy(v, states[0])
	case catalog.PoolingLast:
		copy(v, states[len(states)-1])
	default: // mean
		sum := make([]float64, len(v))
		for _, s := range states {
			for j, x := range s {
				sum[j] += float64(x)
			}
		}
		for j := range v {
			v[j] = float32(sum[j] / float64(len(states)))
		}
	}
	return v
}

// lazyHeads loads a model's heads on first use: most requests never need
// them.
type lazyHeads struct {
	once  sync.Once
	heads *m3Heads
	err   error
	// special is specialIDs(model), read from the GGUF's metadata once
	// rather than per request; set whenever heads is read.
	special func(int32) bool
	// splade is a SPLADE model's masked-LM head (splade.go). Unlike the
	// others it is loaded under spladeMu until a load succeeds: its
	// booking may fail for a while, until other models are evicted.
	spladeMu sync.Mutex
	splade   SPLADEHead
	// isSPLADE is the GGUF's keys.SPLADE, read once (isSPLADE).
	spladeOnce sync.Once
	isSPLADE   bool
}

// close frees the SPLADE head; the model is being unloaded.
func (l *lazyHeads) close() {
	if l.splade != nil {
		l.splade.Close()
	}
}

// spladeFor returns m's SPLADE head, loading it on first use; nil for a
// model that is not SPLADE.
func (e *Engine) spladeFor(m *loadedModel) (SPLADEHead, error) {
	if !m.isSPLADE() {
		return nil, nil
	}
	m.m3.spladeMu.Lock()
	defer m.m3.spladeMu.Unlock()
	if m.m3.splade == nil {
		head, err := e.loadSPLADE(m)
		if err != nil {
			if errors.Is(err, ErrOverloaded) || errors.Is(err, ErrModelUnavailable) {
				return nil, err // budgetError's
			}
			return nil, fmt.Errorf("%w: %s: %w", ErrModelUnavailable, m.entry.Name, err)
		}
		m.m3.splade = head
	}
	return m.m3.splade, nil
}

// flattenStates puts each sequence's token states in one slice.
func flattenStates(states [][][]float32) [][]float32 {
	out := make([][]float32, len(states))
	for i, rows := range states {
		for _, r := range rows {
			out[i] = append(out[i], r...)
		}
	}
	return out
}

// headsFor returns m's heads, checking they include what want asks for:
// a model without them answers ErrWrongKind (422) saying how to get them.
func (e *Engine) headsFor(m *loadedModel, want Outputs) (*m3Heads, error) {
	if m.isSPLADE() {
		// Its sparse output is spladeFor's; it has nothing else.
		return nil, spladeOnly(m, want)
	}
	m.m3.once.Do(func() {
		m.m3.heads, m.m3.err = loadHeads(m.model, m.entry.ModelPath(e.cfg.ModelsDir))
		m.m3.special = specialIDs(m.model)
	})
	if m.m3.err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrModelUnavailable, m.entry.Name, m.m3.err)
	}
	h := m.m3.heads
	missing := ""
	switch {
	case want.Sparse && (h == nil || h.sparseW == nil):
		missing = "sparse"
	case want.ColBERT && (h == nil || h.colbertW == nil):
		missing = "ColBERT"
	}
	if missing == "" {
		return h, nil
	}
	hint := "only models converted with BGE-M3's head files (sparse_linear.pt, colbert_linear.pt) have them, such as bge-m3"
	for _, o := range m.entry.Outputs {
		if o == catalog.OutputSparse || o == catalog.OutputColBERT {
			hint = fmt.Sprintf("its GGUF was made without them; delete %s and run: rerank-api pull %s", m.entry.ModelPath(e.cfg.ModelsDir), m.entry.Name)
		}
	}
	return nil, fmt.Errorf("%w: %q is an embedding model without a %s head: it serves dense vectors only; %s",
		ErrWrongKind, m.entry.Name, missing, hint)
}

// forEach runs f(0..n-1) on up to GOMAXPROCS goroutines.
func forEach(n int, f func(i int)) {
	workers := min(n, runtime.GOMAXPROCS(0))
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
