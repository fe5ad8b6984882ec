package reference

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestRMSNorm(t *testing.T) {
	// mean((1, 7)²) = 25; with eps 11 the divisor is sqrt(36) = 6.
	for _, c := range []struct {
		eps  float64
		want []float64
	}{
		{0, []float64{0.2, 2.8}},
		{11, []float64{1.0 / 6, 14.0 / 6}},
	} {
		got := rmsNorm([]float64{1, 7}, []float32{1, 2}, c.eps)
		if !vecNear(got, c.want, 1e-15) {
			t.Errorf("eps %v: got %v, want %v", c.eps, got, c.want)
		}
	}
}

// HF pairs dimension e with e+half (rotate_half), not with e+1 as the
// original Llama and llama.cpp's "normal" RoPE do.
func TestRotateHalf(t *testing.T) {
	head := []float64{1, 2, 3, 4}
	rotate(head, 0, 100)
	if !vecNear(head, []float64{1, 2, 3, 4}, 0) {
		t.Fatalf("position 0 rotated: %v", head)
	}
	// head size 4, theta 100: angles pos·1 for pair (0, 2), pos·0.1 for (1, 3).
	rotate(head, 1, 100)
	s1, c1 := math.Sincos(1)
	s2, c2 := math.Sincos(0.1)
	want := []float64{1*c1 - 3*s1, 2*c2 - 4*s2, 3*c1 + 1*s1, 4*c2 + 2*s2}
	if !vecNear(head, want, 1e-15) {
		t.Errorf("got %v, want %v", head, want)
	}
}

// handDecoder has hidden size 2, one head of size 2 (one rotary pair, whose
// angle is the position in radians) and identity attention weights.
func handDecoder() *Decoder {
	m := func(rows, cols int, v ...float32) Matrix { return Matrix{rows, cols, v} }
	identity := m(2, 2, 1, 0, 0, 1)
	return &Decoder{
		DecoderConfig: DecoderConfig{HiddenSize: 2, Heads: 1, KVHeads: 1, Layers: 1, Intermediate: 1, MaxPositions: 4, RopeTheta: 10000},
		Embeddings:    m(2, 2, 1, 7, 2, -1),
		Layers: []DecoderLayer{{
			AttentionNorm: []float32{1, 1}, Query: identity, Key: identity, Value: identity, Output: identity,
			MLPNorm: []float32{1, 1}, Gate: m(1, 2, 1, 0), Up: m(1, 2, 0, 1), Down: m(2, 1, 1, 0),
		}},
		Norm: []float32{1, 2},
	}
}

// One token attends only to itself: attention returns its normalized
// input. Embedding (1, 7) normalizes to (0.2, 1.4); h = (1.2, 8.4), whose
// norm is again (0.2, 1.4); the MLP adds (silu(0.2)·1.4, 0).
func TestDecoderOneTokenByHand(t *testing.T) {
	d := handDecoder()
	h := []float64{1.2 + silu(0.2)*1.4, 8.4}
	rms := math.Sqrt((h[0]*h[0] + h[1]*h[1]) / 2)
	want := []float64{h[0] / rms, 2 * h[1] / rms}
	if got := d.Hidden([]int32{0})[0]; !vecNear(got, want, 1e-14) {
		t.Errorf("got %v, want %v", got, want)
	}
	if silu(0.2) != 0.2/(1+math.Exp(-0.2)) {
		t.Error("silu is not x·sigmoid(x)")
	}
}

// The second token's query and key turn by 1 radian, the first token's
// key not at all: the scores are |x1|²/√2 and (R·x1)·x0/√2.
func TestDecoderTwoTokensByHand(t *testing.T) {
	d := handDecoder()
	d.Layers[0].Gate = Matrix{1, 2, []float32{0, 0}} // silu(0) = 0: no MLP
	x0, x1 := []float64{1, 7}, []float64{2, -1}
	n0, n1 := rmsNorm(x0, []float32{1, 1}, 0), rmsNorm(x1, []float32{1, 1}, 0)
	sin, cos := math.Sincos(1)
	r1 := []float64{n1[0]*cos - n1[1]*sin, n1[1]*cos + n1[0]*sin}
	s0, s1 := dot(r1, n0)/math.Sqrt2, dot(r1, r1)/math.Sqrt2
	p0 := math.Exp(s0) / (math.Exp(s0) + math.Exp(s1))
	h := []float64{x1[0] + p0*n0[0] + (1-p0)*n1[0], x1[1] + p0*n0[1] + (1-p0)*n1[1]}
	rms := math.Sqrt((h[0]*h[0] + h[1]*h[1]) / 2)
	want := []float64{h[0] / rms, 2 * h[1] / rms}
	got := d.Hidden([]int32{0, 1})
	if !vecNear(got[1], want, 1e-14) {
		t.Errorf("second token: got %v, want %v", got[1], want)
	}
	if !vecNear(LastToken(got), got[1], 0) {
		t.Error("LastToken does not pick the last state")
	}
}

func TestDecoderIsCausal(t *testing.T) {
	d := randomDecoder(1, 4, 2)
	full := d.Hidden([]int32{3, 1, 4, 1, 5})
	for n := 1; n < 5; n++ {
		prefix := d.Hidden([]int32{3, 1, 4, 1, 5}[:n])
		if !vecNear(prefix[n-1], full[n-1], 1e-12) {
			t.Fatalf("token %d depends on later tokens", n-1)
		}
	}
	if changed := d.Hidden([]int32{2, 1, 4, 1, 5}); vecNear(changed[4], full[4], 1e-3) {
		t.Error("the last token does not depend on the first")
	}
}

// Query head h reads KV head h/(Heads/KVHeads), as HF's repeat_kv lays
// them out: the same model with each KV head's rows repeated for its
// query heads computes the same function.
func TestDecoderGroupedQueryAttention(t *testing.T) {
	gqa := randomDecoder(2, 4, 2)
	mha := randomDecoder(2, 4, 2)
	mha.KVHeads = 4
	for l := range mha.Layers {
		for _, m := range []*Matrix{&mha.Layers[l].Key, &mha.Layers[l].Value} {
			src, hd := *m, gqa.headDim()
			*m = NewMatrix(4*hd, src.Cols)
			for h := range 4 {
				copy(m.Data[h*hd*src.Cols:(h+1)*hd*src.Cols], src.Data[h/2*hd*src.Cols:(h/2+1)*hd*src.Cols])
			}
		}
	}
	tokens := []int32{5, 2, 7, 1}
	if a, b := gqa.Hidden(tokens), mha.Hidden(tokens); !vecNear(a[3], b[3], 1e-12) {
		t.Errorf("grouped attention differs from repeated heads: %v vs %v", a[3][:4], b[3][:4])
	}
}

// randomDecoder is a 2-layer decoder of hidden size 16 with random weights.
func randomDecoder(seed uint64, heads, kvHeads int) *Decoder {
	r := rand.New(rand.NewPCG(seed, 0))
	const hidden, ff, vocab = 16, 24, 8
	hd := hidden / heads
	m := func(rows, cols int, mean, std float64) Matrix {
		out := NewMatrix(rows, cols)
		for i := range out.Data {
			out.Data[i] = float32(mean + std*r.NormFloat64())
		}
		return out
	}
	d := &Decoder{
		DecoderConfig: DecoderConfig{HiddenSize: hidden, Heads: heads, KVHeads: kvHeads, Layers: 2, Intermediate: ff, MaxPositions: 8, RopeTheta: 10000, RMSNormEps: 1e-5},
		Embeddings:    m(vocab, hidden, 0, 1),
		Norm:          m(1, hidden, 1, 0.1).Data,
	}
	for range d.DecoderConfig.Layers {
		d.Layers = append(d.Layers, DecoderLayer{
			AttentionNorm: m(1, hidden, 1, 0.1).Data,
			Query:         m(heads*hd, hidden, 0, 0.5), Key: m(kvHeads*hd, hidden, 0, 0.5),
			Value: m(kvHeads*hd, hidden, 0, 0.5), Output: m(hidden, heads*hd, 0, 0.5),
			MLPNorm: m(1, hidden, 1, 0.1).Data,
			Gate:    m(ff, hidden, 0, 0.5), Up: m(ff, hidden, 0, 0.5), Down: m(hidden, ff, 0, 0.5),
		})
	}
	return d
}

func vecNear(a, b []float64, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > tol {
			return false
		}
	}
	return true
}
