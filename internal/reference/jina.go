package reference

import (
	"fmt"
	"math"
)

// JinaBERT is a jina-bert-v2 encoder (jinaai/jina-bert-implementation's
// JinaBertModel, the jina-embeddings-v2 family): BERT's post-LayerNorm
// layers without position embeddings, attention biased by ALiBi instead,
// and a GEGLU feed-forward.
type JinaBERT struct {
	// Config as BERT's; MaxPositions only bounds Hidden's input, since
	// ALiBi has no table.
	Config
	WordEmbeddings      Matrix // [vocab, hidden]
	TokenTypeEmbeddings Matrix // [TypeVocab, hidden]
	EmbeddingNorm       LayerNorm
	Layers              []JinaLayer
}

// JinaLayer is one JinaBertLayer.
type JinaLayer struct {
	Query, Key, Value Dense
	AttentionOutput   Dense     // attention.output.dense
	AttentionNorm     LayerNorm // attention.output.LayerNorm
	// Gated is mlp.gated_layers, [2·intermediate, hidden] without bias:
	// GELU of the first intermediate outputs times the second.
	Gated      Matrix
	Down       Dense     // mlp.wo: [hidden, intermediate]
	OutputNorm LayerNorm // mlp.layernorm, over Down's output plus the layer's input
}

// VocabSize is the number of token ids the model accepts.
func (m *JinaBERT) VocabSize() int { return m.WordEmbeddings.Rows }

// Hidden returns the last hidden state of every token of one sequence, all
// of token type 0 (as embedders feed it).
func (m *JinaBERT) Hidden(tokens []int32) [][]float64 {
	ops := &Weights{Config: m.Config, WordEmbeddings: m.WordEmbeddings}
	ops.check(tokens, nil)
	x := make([][]float64, len(tokens))
	for i, id := range tokens {
		word, tt := m.WordEmbeddings.Row(int(id)), m.TokenTypeEmbeddings.Row(0)
		e := make([]float64, m.HiddenSize)
		for j := range e {
			e[j] = float64(word[j]) + float64(tt[j])
		}
		x[i] = ops.layerNorm(e, m.EmbeddingNorm)
	}
	slopes := ALiBiSlopes(m.Heads)
	for l := range m.Layers {
		x = m.layer(ops, &m.Layers[l], slopes, x)
	}
	return x
}

func (m *JinaBERT) layer(ops *Weights, l *JinaLayer, slopes []float64, x [][]float64) [][]float64 {
	n, ff := len(x), l.Gated.Rows/2
	q, k, v := make([][]float64, n), make([][]float64, n), make([][]float64, n)
	for i := range x {
		q[i], k[i], v[i] = linear(&l.Query, x[i]), linear(&l.Key, x[i]), linear(&l.Value, x[i])
	}
	gated := Dense{Weight: l.Gated, Bias: make([]float32, l.Gated.Rows)}
	// ALiBi: a penalty growing with the distance either way.
	alibi := func(h, i, j int) float64 { return -slopes[h] * math.Abs(float64(i-j)) }
	contexts := selfAttention(q, k, v, m.Heads, alibi)
	out := make([][]float64, n)
	for i := range x {
		attn := linear(&l.AttentionOutput, contexts[i])
		for d := range attn {
			attn[d] += x[i][d]
		}
		attn = ops.layerNorm(attn, l.AttentionNorm)

		up := linear(&gated, attn)
		glu := make([]float64, ff)
		for d := range glu {
			glu[d] = ops.gelu(up[d]) * up[ff+d]
		}
		down := linear(&l.Down, glu)
		for d := range down {
			down[d] += attn[d]
		}
		out[i] = ops.layerNorm(down, l.OutputNorm)
	}
	return out
}

// ALiBiSlopes returns the per-head slopes of ALiBi (Press et al.), as
// JinaBert's _get_alibi_head_slopes computes them: for a power of two n,
// 2^(-8(h+1)/n); otherwise those of the largest power of two below n,
// followed by every other slope of twice that power.
func ALiBiSlopes(heads int) []float64 {
	if heads < 1 {
		panic(fmt.Sprintf("reference: %d attention heads", heads))
	}
	pow2 := func(n int) []float64 {
		s := make([]float64, n)
		for h := range s {
			s[h] = math.Pow(2, -8*float64(h+1)/float64(n))
		}
		return s
	}
	p := 1
	for p*2 <= heads {
		p *= 2
	}
	if p == heads {
		return pow2(heads)
	}
	slopes := pow2(p)
	for i, s := range ALiBiSlopes(2 * p) {
		if i%2 == 0 && len(slopes) < heads {
			slopes = append(slopes, s)
		}
	}
	return slopes
}
