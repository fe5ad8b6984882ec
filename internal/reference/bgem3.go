package reference

import (
	"maps"
	"math"
	"slices"
)

// M3Heads are BGE-M3's two heads on the encoder's token states, as
// FlagEmbedding's BGEM3FlagModel applies them: sparse_linear, a
// Linear(hidden, 1) giving each token a lexical weight, and colbert_linear,
// a Linear(hidden, dim) giving each token a late-interaction vector.
type M3Heads struct {
	Sparse  Dense // Weight 1 × hidden
	ColBERT Dense // Weight dim × hidden
}

// M3Sparse is the lexical weights of one sequence: relu(sparse_linear(h_t))
// per token, the special tokens (special reports them: CLS, EOS, PAD, UNK)
// left out, and for a token id seen several times its largest weight.
// Zero weights are left out, as FlagEmbedding keeps only w > 0.
func (h M3Heads) M3Sparse(tokens []int32, states [][]float64, special func(int32) bool) map[int32]float64 {
	out := map[int32]float64{}
	for t, id := range tokens {
		if special(id) {
			continue
		}
		w := max(0, linear(&h.Sparse, states[t])[0])
		if w > 0 && w > out[id] {
			out[id] = w
		}
	}
	return out
}

// M3ColBERT is one vector per token after the first ([CLS] / <s>), the
// closing special token included: normalize(colbert_linear(h_t)).
func (h M3Heads) M3ColBERT(states [][]float64) [][]float64 {
	out := make([][]float64, 0, len(states)-1)
	for _, s := range states[1:] {
		out = append(out, Normalize(linear(&h.ColBERT, s)))
	}
	return out
}

// SparseScore is FlagEmbedding's lexical matching score: the sum, over the
// token ids both sides share, of the product of their weights.
func SparseScore(q, p map[int32]float64) float64 {
	var s float64
	for _, id := range slices.Sorted(maps.Keys(q)) {
		s += q[id] * p[id]
	}
	return s
}

// ColBERTScore is late interaction: for each query vector its best dot
// product with a passage vector, averaged over the query's vectors.
func ColBERTScore(q, p [][]float64) float64 {
	var s float64
	for _, qv := range q {
		best := math.Inf(-1)
		for _, pv := range p {
			best = max(best, dot(qv, pv))
		}
		s += best
	}
	return s / float64(len(q))
}

// HybridScore is FlagEmbedding's compute_score combination: the weighted
// sum of the dense, sparse and ColBERT scores divided by the sum of the
// weights (0.4, 0.2, 0.4 by default, which sum to 1).
func HybridScore(dense, sparse, colbert float64, weights [3]float64) float64 {
	return (weights[0]*dense + weights[1]*sparse + weights[2]*colbert) / (weights[0] + weights[1] + weights[2])
}

// Dot is the dense score of two normalized vectors, q·p.
func Dot(a, b []float64) float64 { return dot(a, b) }
