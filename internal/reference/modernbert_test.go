package reference_test

import (
	"math"
	"testing"

	"github.com/rerank-api/rerank-api/internal/reference"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

func maxDiff(a, b [][]float64) float64 {
	var d float64
	for i := range a {
		for j := range a[i] {
			d = math.Max(d, math.Abs(a[i][j]-b[i][j]))
		}
	}
	return d
}

func sequence(n int) []int32 {
	tokens := make([]int32, n)
	for i := range tokens {
		tokens[i] = int32(5 + (i*37)%300)
	}
	return tokens
}

// A sliding window wide enough to cover the sequence is global attention;
// TinyModernBERT's ±4 window is not, on 30 tokens.
func TestModernBERTSlidingWindow(t *testing.T) {
	cfg := testmodel.TinyModernBERT(1, "mean")
	cfg.LocalTheta = cfg.GlobalTheta // so that only the mask differs
	tokens := sequence(30)
	windowed := testmodel.GenerateModernBERT(cfg)
	wide := testmodel.GenerateModernBERT(cfg)
	wide.LocalAttention = 2 * len(tokens)
	global := testmodel.GenerateModernBERT(cfg)
	global.GlobalEvery = 1
	if d := maxDiff(wide.Hidden(tokens), global.Hidden(tokens)); d > 1e-12 {
		t.Errorf("a window covering the sequence differs from global attention by %g", d)
	}
	if d := maxDiff(windowed.Hidden(tokens), global.Hidden(tokens)); d < 1e-3 {
		t.Errorf("the ±4 window changed outputs by only %g", d)
	}
	// Tokens within the window of every token (5 tokens: |i−j| ≤ 4) see
	// the same keys either way.
	if d := maxDiff(windowed.Hidden(tokens[:5]), global.Hidden(tokens[:5])); d > 1e-12 {
		t.Errorf("a sequence inside the window differs from global attention by %g", d)
	}
}

// RoPE makes attention depend on relative positions only; with the window
// covering every token, the local theta still changes outputs.
func TestModernBERTRotaryBases(t *testing.T) {
	cfg := testmodel.TinyModernBERT(2, "mean")
	a := testmodel.GenerateModernBERT(cfg)
	b := testmodel.GenerateModernBERT(cfg)
	b.LocalTheta = b.GlobalTheta
	tokens := sequence(5)
	if d := maxDiff(a.Hidden(tokens), b.Hidden(tokens)); d < 1e-4 {
		t.Errorf("local_rope_theta changed outputs by only %g", d)
	}
}

func TestModernBERTClassify(t *testing.T) {
	cfg := testmodel.TinyModernBERT(3, "rank")
	m := testmodel.GenerateModernBERT(cfg)
	tokens := sequence(12)
	got := m.Classify(tokens)
	// The head by hand from the hidden states: mean → dense → GELU → norm → out.
	h := reference.Pool(m.Hidden(tokens), reference.PoolMean)
	d := make([]float64, len(h))
	for o := range d {
		for i, w := range m.HeadDense.Weight.Row(o) {
			d[o] += float64(w) * h[i]
		}
		d[o] = 0.5 * d[o] * (1 + math.Erf(d[o]/math.Sqrt2))
	}
	var mean, variance float64
	for _, v := range d {
		mean += v / float64(len(d))
	}
	for _, v := range d {
		variance += (v - mean) * (v - mean) / float64(len(d))
	}
	var want float64
	for i, w := range m.Classifier.Weight.Row(0) {
		want += float64(w) * (d[i] - mean) / math.Sqrt(variance+m.NormEps) * float64(m.HeadNorm.Weight[i])
	}
	want += float64(m.Classifier.Bias[0])
	if len(got) != 1 || math.Abs(got[0]-want) > 1e-12 {
		t.Errorf("logits %v, want [%v]", got, want)
	}
}
