package reference

import (
	"fmt"
	"math"
)

// GemmaConfig is the shape of a Gemma 3 text model used as an embedder
// (EmbeddingGemma), with HF Gemma3TextConfig's meaning.
type GemmaConfig struct {
	HiddenSize   int     // hidden_size
	Heads        int     // num_attention_heads
	KVHeads      int     // num_key_value_heads; must divide Heads
	HeadDim      int     // head_dim, which need not be HiddenSize / Heads
	Intermediate int     // intermediate_size
	MaxPositions int     // max_position_embeddings
	RopeTheta    float64 // rope_theta: the full-attention layers' base
	// RopeLocalTheta is rope_local_base_freq: the sliding layers' base.
	RopeLocalTheta float64
	RMSNormEps     float64 // rms_norm_eps
	// QueryPreAttnScalar is query_pre_attn_scalar: scores are scaled by
	// its inverse square root.
	QueryPreAttnScalar float64
	// SlidingWindow is config.json's sliding_window, the full width of a
	// bidirectional window: token i attends to j when |i-j| ≤ SlidingWindow/2
	// (transformers keeps SlidingWindow/2+1 as an exclusive bound).
	SlidingWindow int
	// SlidingPattern: layer i is global when (i+1) is a multiple of it,
	// sliding otherwise (transformers' default layer_types).
	SlidingPattern int
	// Activation of the gated feed-forward: GELUTanh is HF's
	// gelu_pytorch_tanh; GELUTanhF16 is how ggml's CPU backend computes it.
	Activation Activation
}

// GemmaLayer is one Gemma3DecoderLayer: norms before and after both the
// attention and the feed-forward. Norm weights are as HF stores them:
// Gemma3RMSNorm scales by 1+w.
type GemmaLayer struct {
	InputNorm           []float32 // input_layernorm
	Query, Key, Value   Matrix    // self_attn.{q,k,v}_proj: [heads·HeadDim, hidden]
	Output              Matrix    // self_attn.o_proj: [hidden, Heads·HeadDim]
	QueryNorm, KeyNorm  []float32 // self_attn.{q,k}_norm over each head
	PostAttentionNorm   []float32 // post_attention_layernorm
	PreFeedforwardNorm  []float32 // pre_feedforward_layernorm
	PostFeedforwardNorm []float32 // post_feedforward_layernorm
	Gate, Up            Matrix    // mlp.{gate,up}_proj: [intermediate, hidden]
	Down                Matrix    // mlp.down_proj: [hidden, intermediate]
}

// Gemma is EmbeddingGemma as sentence-transformers runs it: transformers'
// Gemma3TextModel with bidirectional attention (use_bidirectional_attention),
// mean pooling, the two bias-free, identity-activated Dense modules, then
// Normalize (left to the caller).
type Gemma struct {
	GemmaConfig
	Embeddings Matrix // embed_tokens: [vocab, hidden]
	Layers     []GemmaLayer
	Norm       []float32 // the final norm
	// Dense2 and Dense3 are the linear weights of 2_Dense
	// [projection, hidden] and 3_Dense [hidden, projection].
	Dense2, Dense3 Matrix
}

// Global reports whether layer i attends over the whole input.
func (g *Gemma) Global(i int) bool { return (i+1)%g.SlidingPattern == 0 }

// Embedding is the sentence-transformers output before Normalize: the
// mean of the last hidden states, through 2_Dense and 3_Dense.
func (g *Gemma) Embedding(tokens []int32) []float64 {
	return matVec(g.Dense3, matVec(g.Dense2, Pool(g.Hidden(tokens), PoolMean)))
}

// Hidden returns the last hidden state of every token of one sequence
// (after the final norm), positions counted from 0.
func (g *Gemma) Hidden(tokens []int32) [][]float64 {
	g.check(tokens)
	scale := math.Sqrt(float64(g.HiddenSize)) // Gemma3TextScaledWordEmbedding
	x := make([][]float64, len(tokens))
	for i, id := range tokens {
		x[i] = widen(g.Embeddings.Row(int(id)))
		for e := range x[i] {
			x[i][e] *= scale
		}
	}
	for l := range g.Layers {
		x = g.layer(l, x)
	}
	for i := range x {
		x[i] = g.norm(x[i], g.Norm)
	}
	return x
}

func (g *Gemma) check(tokens []int32) {
	switch {
	case len(tokens) == 0 || len(tokens) > g.MaxPositions:
		panic(fmt.Sprintf("reference: sequence of %d tokens, want 1..%d", len(tokens), g.MaxPositions))
	case g.Heads < 1 || g.KVHeads < 1 || g.Heads%g.KVHeads != 0:
		panic(fmt.Sprintf("reference: %d KV heads do not divide %d heads", g.KVHeads, g.Heads))
	case g.HeadDim < 2 || g.HeadDim%2 != 0 || g.SlidingPattern < 1:
		panic(fmt.Sprintf("reference: head size %d, sliding pattern %d", g.HeadDim, g.SlidingPattern))
	}
	for i, id := range tokens {
		if id < 0 || int(id) >= g.Embeddings.Rows {
			panic(fmt.Sprintf("reference: token %d is id %d, vocabulary has %d", i, id, g.Embeddings.Rows))
		}
	}
}

// layer is Gemma3DecoderLayer.
func (g *Gemma) layer(li int, x [][]float64) [][]float64 {
	l := &g.Layers[li]
	n, hd := len(x), g.HeadDim
	theta, reach := g.RopeTheta, n
	if !g.Global(li) {
		theta, reach = g.RopeLocalTheta, g.SlidingWindow/2
	}
	q, k, v := make([][]float64, n), make([][]float64, n), make([][]float64, n)
	for i := range x {
		xn := g.norm(x[i], l.InputNorm)
		q[i], k[i], v[i] = matVec(l.Query, xn), matVec(l.Key, xn), matVec(l.Value, xn)
		for h := 0; h < g.Heads; h++ {
			copy(q[i][h*hd:(h+1)*hd], g.norm(q[i][h*hd:(h+1)*hd], l.QueryNorm))
			rotate(q[i][h*hd:(h+1)*hd], i, theta)
		}
		for h := 0; h < g.KVHeads; h++ {
			copy(k[i][h*hd:(h+1)*hd], g.norm(k[i][h*hd:(h+1)*hd], l.KeyNorm))
			rotate(k[i][h*hd:(h+1)*hd], i, theta)
		}
	}
	group := g.Heads / g.KVHeads
	scale := 1 / math.Sqrt(g.QueryPreAttnScalar)
	out := make([][]float64, n)
	for i := range x {
		lo, hi := max(0, i-reach), min(n-1, i+reach) // bidirectional window
		context := make([]float64, g.Heads*hd)
		for h := 0; h < g.Heads; h++ {
			qh, kv := q[i][h*hd:(h+1)*hd], h/group*hd
			scores := make([]float64, hi-lo+1)
			for j := range scores {
				scores[j] = dot(qh, k[lo+j][kv:kv+hd]) * scale
			}
			softmax(scores)
			for j, p := range scores {
				for e := 0; e < hd; e++ {
					context[h*hd+e] += p * v[lo+j][kv+e]
				}
			}
		}
		h := g.norm(matVec(l.Output, context), l.PostAttentionNorm)
		for e := range h {
			h[e] += x[i][e]
		}
		hn := g.norm(h, l.PreFeedforwardNorm)
		gate, up := matVec(l.Gate, hn), matVec(l.Up, hn)
		for e := range gate {
			gate[e] = g.gelu(gate[e]) * up[e]
		}
		mlp := g.norm(matVec(l.Down, gate), l.PostFeedforwardNorm)
		for e := range h {
			h[e] += mlp[e]
		}
		out[i] = h
	}
	return out
}

// norm is Gemma3RMSNorm: x / sqrt(mean(x²) + eps), scaled by 1 + weight.
func (g *Gemma) norm(x []float64, weight []float32) []float64 {
	var sum float64
	for _, v := range x {
		sum += v * v
	}
	inv := 1 / math.Sqrt(sum/float64(len(x))+g.RMSNormEps)
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = v * inv * (1 + float64(weight[i]))
	}
	return y
}

func (g *Gemma) gelu(x float64) float64 {
	if g.Activation == GELUErf {
		panic("reference: Gemma's feed-forward uses tanh GELU")
	}
	return (&Weights{Config: Config{Activation: g.Activation}}).gelu(x)
}
