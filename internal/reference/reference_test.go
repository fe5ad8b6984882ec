package reference

import (
	"math"
	"testing"
)

// tinyModel is a 1-layer encoder with hidden size 2 whose outputs can be
// derived by hand. With hidden size 2 and eps = 1, LayerNorm maps (a, b) to
// (s, -s) with d = (a-b)/2 and s = d/sqrt(d²+1); the embeddings are picked
// so that d = 3/4 and d = -15/8, giving exactly ±3/5 and ∓15/17.
func tinyModel(heads int) *Weights {
	m := func(rows, cols int, v ...float32) Matrix { return Matrix{rows, cols, v} }
	ones := []float32{1, 1}
	identity := m(2, 2, 1, 0, 0, 1)
	return &Weights{
		Config: Config{HiddenSize: 2, Heads: heads, Layers: 1, Intermediate: 1, MaxPositions: 2, TypeVocab: 2, LayerNormEps: 1},
		// token 0 at position 0: (2, 1) + (0.5, 0) + (0.25, 0.25) → d = 3/4
		// token 1 at position 1: (0, 2) + (0, 1.75) + (0.25, 0.25) → d = -15/8
		WordEmbeddings:      m(2, 2, 2, 1, 0, 2),
		PositionEmbeddings:  m(2, 2, 0.5, 0, 0, 1.75),
		TokenTypeEmbeddings: m(2, 2, 0.25, 0.25, 1, -1),
		EmbeddingNorm:       LayerNorm{ones, []float32{0, 0}},
		Layers: []Layer{{
			// q = (1, 0) for every token; k = x.
			Query:           Dense{m(2, 2, 0, 0, 0, 0), []float32{1, 0}},
			Key:             Dense{identity, []float32{0, 0}},
			Value:           Dense{identity, []float32{0, 0.125}},
			AttentionOutput: Dense{identity, []float32{0, 0}},
			AttentionNorm:   LayerNorm{ones, []float32{0, 0}},
			Intermediate:    Dense{m(1, 2, 1, -1), []float32{0.0625}},
			Output:          Dense{m(2, 1, 1, 0), []float32{0, 0}},
			OutputNorm:      LayerNorm{[]float32{2, 1}, []float32{0, 0.5}},
		}},
		Pooler:     &Dense{identity, []float32{0.125, -0.125}},
		Classifier: &Dense{m(2, 2, 1, 1, 1, -1), []float32{0.5, 0}},
	}
}

// normPair is LayerNorm of (a, b) with eps 1, unit weight, zero bias.
func normPair(a, b float64) (float64, float64) {
	d := (a - b) / 2
	s := d / math.Sqrt(d*d+1)
	return s, -s
}

func attend(scores, values []float64) float64 {
	e0, e1 := math.Exp(scores[0]), math.Exp(scores[1])
	return (e0*values[0] + e1*values[1]) / (e0 + e1)
}

// handHidden derives tinyModel's output for tokens [0, 1] step by step.
func handHidden(heads int) [][]float64 {
	x := [][]float64{{0.6, -0.6}, {-15.0 / 17, 15.0 / 17}}
	col := func(d int) []float64 { return []float64{x[0][d], x[1][d]} }
	var context [2]float64
	if heads == 1 {
		// One head of width 2: score_j = q·k_j/√2 = x_j[0]/√2, and the
		// softmax weights apply to both dimensions.
		scores := []float64{x[0][0] / math.Sqrt2, x[1][0] / math.Sqrt2}
		context = [2]float64{attend(scores, col(0)), attend(scores, col(1))}
	} else {
		// Two heads of width 1 (scale 1): head 0 scores x_j[0], head 1 sees
		// q = 0 and attends uniformly.
		context = [2]float64{attend(col(0), col(0)), (x[0][1] + x[1][1]) / 2}
	}
	context[1] += 0.125 // value bias, passed through since weights sum to 1

	out := make([][]float64, 2)
	for i := range x {
		y0, y1 := normPair(x[i][0]+context[0], x[i][1]+context[1])
		u := y0 - y1 + 0.0625
		g := 0.5 * u * (1 + math.Erf(u/math.Sqrt2))
		n0, n1 := normPair(y0+g, y1)
		out[i] = []float64{2 * n0, n1 + 0.5}
	}
	return out
}

func TestHiddenMatchesHandDerivation(t *testing.T) {
	for _, heads := range []int{1, 2} {
		got := tinyModel(heads).Hidden([]int32{0, 1}, nil)
		want := handHidden(heads)
		for i := range want {
			for d := range want[i] {
				if math.Abs(got[i][d]-want[i][d]) > 1e-12 {
					t.Errorf("heads %d: hidden[%d][%d] = %.15f, want %.15f", heads, i, d, got[i][d], want[i][d])
				}
			}
		}
	}
	// The two attention layouts must not agree by accident.
	if a, b := handHidden(1), handHidden(2); math.Abs(a[0][0]-b[0][0]) < 1e-3 {
		t.Fatalf("hand derivations for 1 and 2 heads coincide: %v %v", a, b)
	}
}

func TestClassifyMatchesHandDerivation(t *testing.T) {
	h := handHidden(1)[0]
	t0, t1 := math.Tanh(h[0]+0.125), math.Tanh(h[1]-0.125)
	want := []float64{t0 + t1 + 0.5, t0 - t1}
	got := tinyModel(1).Classify([]int32{0, 1}, nil)
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Errorf("logit %d = %.15f, want %.15f", i, got[i], want[i])
		}
	}

	noPooler := tinyModel(1)
	noPooler.Pooler = nil
	got = noPooler.Classify([]int32{0, 1}, nil)
	if want := h[0] + h[1] + 0.5; math.Abs(got[0]-want) > 1e-12 {
		t.Errorf("without pooler: logit 0 = %.15f, want %.15f", got[0], want)
	}
}

func TestTokenTypesAreAdded(t *testing.T) {
	w := tinyModel(1)
	a := w.Hidden([]int32{0, 1}, []int32{0, 0})
	b := w.Hidden([]int32{0, 1}, nil)
	c := w.Hidden([]int32{0, 1}, []int32{0, 1})
	if a[1][0] != b[1][0] {
		t.Error("explicit type 0 differs from nil token types")
	}
	if math.Abs(a[1][0]-c[1][0]) < 1e-3 {
		t.Error("token type 1 did not change the output")
	}
}

func TestGELU(t *testing.T) {
	cases := []struct {
		act     Activation
		x, want float64
	}{
		{GELUErf, 1, 0.8413447460685429},    // Φ(1)
		{GELUErf, -1, -0.15865525393145707}, // -(1-Φ(1))
		{GELUErf, 0, 0},
		{GELUTanh, 1, 0.8411919906082768},
		{GELUTanh, -3, -0.0036373920817729},
		// f16 table: 1 is exact in f16, gelu_tanh(1) = 0.84119 rounds to
		// 0.8413 (0x3abb); 0.1 rounds to 0.0999755859375 first.
		{GELUTanhF16, 1, 0.84130859375},
		{GELUTanhF16, 0.1, 0.053955078125},
		{GELUTanhF16, 10, 10},
		{GELUTanhF16, -10, 0},
	}
	for _, c := range cases {
		w := &Weights{Config: Config{Activation: c.act}}
		if got := w.gelu(c.x); math.Abs(got-c.want) > 1e-13 {
			t.Errorf("gelu(%v, %g) = %.16f, want %.16f", c.act, c.x, got, c.want)
		}
	}
}

func TestPoolAndNormalize(t *testing.T) {
	h := [][]float64{{1, 2}, {3, 6}, {-1, -2}}
	if got := Pool(h, PoolCLS); got[0] != 1 || got[1] != 2 {
		t.Errorf("cls = %v", got)
	}
	if got := Pool(h, PoolMean); got[0] != 1 || got[1] != 2 {
		t.Errorf("mean = %v, want [1 2]", got)
	}
	if got := Normalize([]float64{3, -4}); math.Abs(got[0]-0.6) > 1e-15 || math.Abs(got[1]+0.8) > 1e-15 {
		t.Errorf("normalize = %v", got)
	}
	if got := Normalize([]float64{0, 0}); got[0] != 0 || got[1] != 0 {
		t.Errorf("normalize(0) = %v", got)
	}
}

func TestInvalidInputsPanic(t *testing.T) {
	w := tinyModel(1)
	cases := map[string]func(){
		"empty":        func() { w.Hidden(nil, nil) },
		"too long":     func() { w.Hidden([]int32{0, 1, 0}, nil) },
		"bad token":    func() { w.Hidden([]int32{2}, nil) },
		"bad type":     func() { w.Hidden([]int32{0}, []int32{2}) },
		"types length": func() { w.Hidden([]int32{0}, []int32{0, 0}) },
	}
	for name, f := range cases {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
