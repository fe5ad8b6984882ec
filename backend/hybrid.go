package backend

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/rerank-api/rerank-api/catalog"
)

// HybridWeights weigh the three scores of a rerank by an embedding model
// (FlagEmbedding's compute_score, weights_for_different_modes): dense
// q·p, sparse Σ over shared tokens of q_w·p_w, ColBERT mean over query
// tokens of the best q_i·p_j. The score is their weighted sum divided by
// the sum of the weights.
type HybridWeights struct {
	Dense, Sparse, ColBERT float64
}

// DefaultHybridWeights are FlagEmbedding's defaults, [0.4, 0.2, 0.4].
var DefaultHybridWeights = HybridWeights{Dense: 0.4, Sparse: 0.2, ColBERT: 0.4}

func (w HybridWeights) check() error {
	for _, x := range []float64{w.Dense, w.Sparse, w.ColBERT} {
		if x < 0 || math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%w: hybrid weights must be finite and not negative", ErrInvalidInput)
		}
	}
	if w.Dense+w.Sparse+w.ColBERT == 0 {
		return fmt.Errorf("%w: at least one hybrid weight must be positive", ErrInvalidInput)
	}
	return nil
}

// hybridTarget reports whether req names an embedding model, which
// reranks by hybrid score instead of a cross-encoder's. The default model
// of a rerank request is always the default reranker.
func (e *Engine) hybridTarget(req RerankRequest) bool {
	if req.Model == "" {
		return false
	}
	entry, err := e.resolve(req.Model, "")
	return err == nil && entry.Kind == catalog.KindEmbedding
}

// rerankHybrid ranks req's documents with an embedding model: the query
// and every document are encoded once, together, and each document is
// scored against the query by the weighted dense, sparse and ColBERT
// scores. Being a bi-encoder, it cuts documents longer than the model's
// maximum length (FlagEmbedding's max_passage_length) instead of
// chunking them; MaxTokensPerDoc cuts them shorter, specials included.
func (e *Engine) rerankHybrid(ctx context.Context, req RerankRequest) (*RerankResult, error) {
	w := DefaultHybridWeights
	if req.Weights != nil {
		w = *req.Weights
	}
	if err := w.check(); err != nil {
		return nil, err
	}
	m, release, err := e.open(ctx, req.Model, catalog.KindEmbedding)
	if err != nil {
		return nil, err
	}
	defer release()
	want := Outputs{Dense: true, Sparse: w.Sparse > 0, ColBERT: w.ColBERT > 0}
	heads, err := e.headsFor(m, want)
	if err != nil {
		return nil, err
	}
	query, qTokens, err := m.tokenizeAll(EmbedRequest{Inputs: []Input{{Text: req.Query}}, Truncate: true, InputType: InputQuery})
	if err != nil {
		return nil, err
	}
	docs := make([]Input, len(req.Documents))
	for i, d := range req.Documents {
		docs[i] = Input{Text: d}
	}
	seqs, dTokens, err := m.tokenizeAll(EmbedRequest{Inputs: docs, Truncate: true, InputType: InputDocument, MaxTokens: req.MaxTokensPerDoc})
	if err != nil {
		return nil, fmt.Errorf("documents: %w", err)
	}
	seqs = append(query, seqs...)
	states, stats, err := e.tokenStates(ctx, m, seqs)
	if err != nil {
		return nil, err
	}
	reps := make([]m3Rep, len(seqs))
	special := m.m3.special // headsFor above set it
	forEach(len(seqs), func(i int) {
		r := m3Rep{dense: m.pool(states[i])}
		l2Normalize(r.dense)
		if want.Sparse {
			r.sparse = heads.sparse(seqs[i], states[i], special)
		}
		if want.ColBERT {
			r.colbert = heads.colbert(states[i])
		}
		reps[i] = r
	})
	res := &RerankResult{Model: m.entry.Name, Results: make([]RankedDocument, len(req.Documents)), Tokens: qTokens + dTokens, Pairs: len(req.Documents), Stats: stats}
	for i := range req.Documents {
		res.Results[i] = RankedDocument{Index: i, Score: hybridScore(reps[0], reps[i+1], w)}
	}
	slices.SortStableFunc(res.Results, func(a, b RankedDocument) int { return cmp.Compare(b.Score, a.Score) })
	if req.TopN > 0 && req.TopN < len(res.Results) {
		res.Results = res.Results[:req.TopN]
	}
	return res, nil
}

// m3Rep is one text's three representations.
type m3Rep struct {
	dense   []float32
	sparse  []SparseWeight // by increasing id
	colbert [][]float32
}

func hybridScore(q, p m3Rep, w HybridWeights) float64 {
	s := w.Dense * dotF64(q.dense, p.dense)
	if w.Sparse > 0 {
		s += w.Sparse * sparseScore(q.sparse, p.sparse)
	}
	if w.ColBERT > 0 {
		s += w.ColBERT * colbertScore(q.colbert, p.colbert)
	}
	return s / (w.Dense + w.Sparse + w.ColBERT)
}

// sparseScore is the lexical matching score: Σ over shared ids of the
// product of the weights, merging the two id-sorted lists.
func sparseScore(q, p []SparseWeight) float64 {
	var s float64
	for i, j := 0, 0; i < len(q) && j < len(p); {
		switch {
		case q[i].ID < p[j].ID:
			i++
		case q[i].ID > p[j].ID:
			j++
		default:
			s += float64(q[i].Weight) * float64(p[j].Weight)
			i, j = i+1, j+1
		}
	}
	return s
}

// colbertScore is late interaction: each query vector's best dot product
// with a document vector, averaged over the query vectors.
func colbertScore(q, p [][]float32) float64 {
	if len(q) == 0 || len(p) == 0 {
		return 0
	}
	var s float64
	for _, qv := range q {
		best := math.Inf(-1)
		for _, pv := range p {
			best = max(best, dotF64(qv, pv))
		}
		s += best
	}
	return s / float64(len(q))
}

func dotF64(a, b []float32) float64 {
	var s float64
	for i, x := range a {
		s += float64(x) * float64(b[i])
	}
	return s
}
