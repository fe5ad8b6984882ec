package reference

import (
	"fmt"
	"math"

	"github.com/rerank-api/rerank-api/convert/gguf"
)

// Hidden returns the last hidden state of every token of one sequence
// (HF last_hidden_state, no padding). tokenTypes may be nil for all zeros.
func (w *Weights) Hidden(tokens, tokenTypes []int32) [][]float64 {
	w.check(tokens, tokenTypes)
	x := make([][]float64, len(tokens))
	for i, id := range tokens {
		var typ int32
		if tokenTypes != nil {
			typ = tokenTypes[i]
		}
		word, pos, tt := w.WordEmbeddings.Row(int(id)), w.PositionEmbeddings.Row(i), w.TokenTypeEmbeddings.Row(int(typ))
		e := make([]float64, w.HiddenSize)
		for j := range e {
			e[j] = float64(word[j]) + float64(pos[j]) + float64(tt[j])
		}
		x[i] = w.layerNorm(e, w.EmbeddingNorm)
	}
	for l := range w.Layers {
		x = w.layer(&w.Layers[l], x)
	}
	return x
}

// Classify returns the classification head's raw logits (no sigmoid or
// softmax) for one sequence: Classifier(tanh(Pooler(h_cls))), or
// Classifier(h_cls) when the model has no Pooler.
func (w *Weights) Classify(tokens, tokenTypes []int32) []float64 {
	if w.Classifier == nil {
		panic("reference: Classify on a model without a classifier")
	}
	h := w.Hidden(tokens, tokenTypes)[0]
	if w.Pooler != nil {
		h = linear(w.Pooler, h)
		for i := range h {
			h[i] = math.Tanh(h[i])
		}
	}
	return linear(w.Classifier, h)
}

func (w *Weights) check(tokens, tokenTypes []int32) {
	if len(tokens) == 0 || len(tokens) > w.MaxPositions {
		panic(fmt.Sprintf("reference: sequence of %d tokens, want 1..%d", len(tokens), w.MaxPositions))
	}
	if tokenTypes != nil && len(tokenTypes) != len(tokens) {
		panic(fmt.Sprintf("reference: %d token types for %d tokens", len(tokenTypes), len(tokens)))
	}
	if w.Heads < 1 || w.HiddenSize%w.Heads != 0 {
		panic(fmt.Sprintf("reference: %d heads do not divide hidden size %d", w.Heads, w.HiddenSize))
	}
	for i, id := range tokens {
		if id < 0 || int(id) >= w.VocabSize() {
			panic(fmt.Sprintf("reference: token %d is id %d, vocabulary has %d", i, id, w.VocabSize()))
		}
		if tokenTypes != nil && (tokenTypes[i] < 0 || int(tokenTypes[i]) >= w.TypeVocab) {
			panic(fmt.Sprintf("reference: token %d has type %d, model has %d", i, tokenTypes[i], w.TypeVocab))
		}
	}
}

// layer is HF BertLayer: self-attention, add & norm, feed-forward, add & norm.
func (w *Weights) layer(l *Layer, x [][]float64) [][]float64 {
	n := len(x)
	q, k, v := make([][]float64, n), make([][]float64, n), make([][]float64, n)
	for i := range x {
		q[i], k[i], v[i] = linear(&l.Query, x[i]), linear(&l.Key, x[i]), linear(&l.Value, x[i])
	}
	contexts := selfAttention(q, k, v, w.Heads, nil)
	out := make([][]float64, n)
	for i := range x {
		attn := linear(&l.AttentionOutput, contexts[i])
		for d := range attn {
			attn[d] += x[i][d]
		}
		attn = w.layerNorm(attn, l.AttentionNorm)

		ff := linear(&l.Intermediate, attn)
		for d := range ff {
			ff[d] = w.gelu(ff[d])
		}
		ff = linear(&l.Output, ff)
		for d := range ff {
			ff[d] += attn[d]
		}
		out[i] = w.layerNorm(ff, l.OutputNorm)
	}
	return out
}

// selfAttention is bidirectional multi-head scaled dot-product attention
// over q, k, v (one row per token, heads side by side). bias, when not nil,
// is added to the score of token i attending to token j in head h (ALiBi).
func selfAttention(q, k, v [][]float64, heads int, bias func(h, i, j int) float64) [][]float64 {
	width := len(q[0])
	headDim := width / heads
	scale := 1 / math.Sqrt(float64(headDim))
	contexts := make([][]float64, len(q))
	for i := range q {
		context := make([]float64, width)
		for h := range heads {
			lo, hi := h*headDim, (h+1)*headDim
			scores := make([]float64, len(k))
			for j := range k {
				scores[j] = dot(q[i][lo:hi], k[j][lo:hi]) * scale
				if bias != nil {
					scores[j] += bias(h, i, j)
				}
			}
			softmax(scores)
			for j, p := range scores {
				for d := lo; d < hi; d++ {
					context[d] += p * v[j][d]
				}
			}
		}
		contexts[i] = context
	}
	return contexts
}

// linear returns d.Weight·x + d.Bias.
func linear(d *Dense, x []float64) []float64 {
	if d.Weight.Cols != len(x) {
		panic(fmt.Sprintf("reference: %d×%d weight applied to %d inputs", d.Weight.Rows, d.Weight.Cols, len(x)))
	}
	y := make([]float64, d.Weight.Rows)
	for o := range y {
		var s float64
		for i, wi := range d.Weight.Row(o) {
			s += float64(wi) * x[i]
		}
		y[o] = s + float64(d.Bias[o])
	}
	return y
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// softmax normalizes scores in place, subtracting the maximum first so large
// scores cannot overflow exp.
func softmax(scores []float64) {
	m := math.Inf(-1)
	for _, s := range scores {
		m = math.Max(m, s)
	}
	var sum float64
	for i, s := range scores {
		scores[i] = math.Exp(s - m)
		sum += scores[i]
	}
	for i := range scores {
		scores[i] /= sum
	}
}

// layerNorm uses the biased variance and puts eps inside the square root,
// as torch.nn.LayerNorm does.
func (w *Weights) layerNorm(x []float64, ln LayerNorm) []float64 {
	var mean, variance float64
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for _, v := range x {
		variance += (v - mean) * (v - mean)
	}
	variance /= float64(len(x))
	inv := 1 / math.Sqrt(variance+w.LayerNormEps)
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = (v-mean)*inv*float64(ln.Weight[i]) + float64(ln.Bias[i])
	}
	return y
}

func (w *Weights) gelu(x float64) float64 {
	switch w.Activation {
	case GELUTanh:
		return geluTanh(x)
	case GELUTanhF16:
		switch {
		case x <= -10:
			return 0
		case x >= 10:
			return x
		}
		return roundF16(geluTanh(roundF16(x)))
	}
	return 0.5 * x * (1 + math.Erf(x/math.Sqrt2))
}

func geluTanh(x float64) float64 {
	return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
}

// roundF16 rounds through float32 to f16, as ggml's GGML_CPU_FP32_TO_FP16
// does with a float32 input.
func roundF16(x float64) float64 {
	return float64(gguf.Float32FromF16(gguf.F16FromFloat32(float32(x))))
}
