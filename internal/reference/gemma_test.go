package reference

import (
	"math/rand/v2"
	"testing"
)

// randomGemma is a Gemma of hidden size 16 with the given layers, window
// and sliding pattern, random weights.
func randomGemma(seed uint64, layers, window, pattern int) *Gemma {
	r := rand.New(rand.NewPCG(seed, 0))
	const hidden, heads, kvHeads, hd, ff, vocab = 16, 2, 1, 8, 24, 8
	m := func(rows, cols int, std float64) Matrix {
		out := NewMatrix(rows, cols)
		for i := range out.Data {
			out.Data[i] = float32(std * r.NormFloat64())
		}
		return out
	}
	v := func(n int) []float32 { return m(1, n, 0.1).Data }
	g := &Gemma{
		GemmaConfig: GemmaConfig{
			HiddenSize: hidden, Heads: heads, KVHeads: kvHeads, HeadDim: hd, Intermediate: ff, MaxPositions: 16,
			RopeTheta: 1e6, RopeLocalTheta: 1e4, RMSNormEps: 1e-6, QueryPreAttnScalar: hd,
			SlidingWindow: window, SlidingPattern: pattern, Activation: GELUTanh,
		},
		Embeddings: m(vocab, hidden, 0.5), Norm: v(hidden), Dense2: m(32, hidden, 0.5), Dense3: m(hidden, 32, 0.5),
	}
	for range layers {
		g.Layers = append(g.Layers, GemmaLayer{
			InputNorm: v(hidden), Query: m(heads*hd, hidden, 0.5), Key: m(kvHeads*hd, hidden, 0.5),
			Value: m(kvHeads*hd, hidden, 0.5), Output: m(hidden, heads*hd, 0.5), QueryNorm: v(hd), KeyNorm: v(hd),
			PostAttentionNorm: v(hidden), PreFeedforwardNorm: v(hidden), PostFeedforwardNorm: v(hidden),
			Gate: m(ff, hidden, 0.5), Up: m(ff, hidden, 0.5), Down: m(hidden, ff, 0.5),
		})
	}
	return g
}

// Gemma3RMSNorm scales by 1+w.
func TestGemmaNorm(t *testing.T) {
	g := &Gemma{}
	// mean((1, 7)²) = 25: x/5 times (1.5, 0).
	if got := g.norm([]float64{1, 7}, []float32{0.5, -1}); !vecNear(got, []float64{0.3, 0}, 1e-15) {
		t.Errorf("got %v", got)
	}
}

// A sliding layer's token sees SlidingWindow/2 tokens on either side:
// later tokens too (the attention is bidirectional), farther ones not.
func TestGemmaSlidingWindow(t *testing.T) {
	g := randomGemma(1, 1, 4, 100) // one sliding layer, reach 2
	tokens := []int32{3, 1, 4, 1, 5, 2}
	base := g.Hidden(tokens)
	changed := append([]int32(nil), tokens...)
	changed[5] = 7
	h := g.Hidden(changed)
	if !vecNear(h[2], base[2], 1e-14) {
		t.Error("token 2 sees token 5, three positions away")
	}
	if vecNear(h[3], base[3], 1e-6) {
		t.Error("token 3 does not see token 5, two positions later")
	}
	// An odd window rounds down, as transformers' exclusive bound
	// 5/2+1 = 3 does: 5 reaches 2 like 4, 6 reaches 3.
	for window, sees := range map[int]bool{5: false, 6: true} {
		g.SlidingWindow = window
		if h := g.Hidden(changed); vecNear(h[2], g.Hidden(tokens)[2], 1e-6) == sees {
			t.Errorf("window %d: token 2 sees token 5: %v, want %v", window, !sees, sees)
		}
	}
	// A global layer sees everything.
	g.SlidingPattern = 1
	if h := g.Hidden(changed); vecNear(h[0], g.Hidden(tokens)[0], 1e-6) {
		t.Error("a global layer does not see the whole input")
	}
}

// Layer i is global when i+1 is a multiple of the pattern: of 6 layers
// with pattern 6, only the last. With a window wider than the input and
// one rotary base, sliding and global layers compute the same.
func TestGemmaLayerTypes(t *testing.T) {
	g := randomGemma(2, 6, 64, 6)
	for i := range 6 {
		if g.Global(i) != (i == 5) {
			t.Errorf("layer %d global: %v", i, g.Global(i))
		}
	}
	g.RopeLocalTheta = g.RopeTheta
	tokens := []int32{1, 2, 3, 4, 5}
	sliding := g.Hidden(tokens)
	g.SlidingPattern = 1
	if global := g.Hidden(tokens); !vecNear(sliding[0], global[0], 1e-12) {
		t.Error("a window wider than the input changes the output")
	}
}

// Embedding is the mean of the hidden states through Dense2, then Dense3.
func TestGemmaEmbeddingProjects(t *testing.T) {
	g := randomGemma(3, 2, 4, 6)
	tokens := []int32{1, 2, 3}
	h := g.Hidden(tokens)
	mean := make([]float64, len(h[0]))
	for _, row := range h {
		for i, x := range row {
			mean[i] += x / 3
		}
	}
	want := matVec(g.Dense3, matVec(g.Dense2, mean))
	if got := g.Embedding(tokens); !vecNear(got, want, 1e-12) {
		t.Errorf("got %v, want %v", got[:3], want[:3])
	}
}
