package reference

import (
	"fmt"
	"math"
)

// DecoderConfig is the shape of a Llama/Mistral decoder, with HF
// LlamaConfig's and MistralConfig's meaning.
type DecoderConfig struct {
	HiddenSize   int     // hidden_size
	Heads        int     // num_attention_heads
	KVHeads      int     // num_key_value_heads; must divide Heads
	HeadDim      int     // head_dim; 0 means HiddenSize / Heads
	Layers       int     // num_hidden_layers
	Intermediate int     // intermediate_size
	MaxPositions int     // max_position_embeddings
	RopeTheta    float64 // rope_theta
	RMSNormEps   float64 // rms_norm_eps
}

// DecoderLayer is one pre-norm block (HF LlamaDecoderLayer /
// MistralDecoderLayer). Linear layers have no bias and HF's [out, in]
// layout; Query and Key rows are in HF's order, whose rotary pairs are
// (i, i+HeadDim/2) within each head.
type DecoderLayer struct {
	AttentionNorm []float32 // input_layernorm
	Query         Matrix    // q_proj: [Heads·HeadDim, hidden]
	Key           Matrix    // k_proj: [KVHeads·HeadDim, hidden]
	Value         Matrix    // v_proj: [KVHeads·HeadDim, hidden]
	Output        Matrix    // o_proj: [hidden, Heads·HeadDim]
	MLPNorm       []float32 // post_attention_layernorm
	Gate          Matrix    // mlp.gate_proj: [intermediate, hidden]
	Up            Matrix    // mlp.up_proj: [intermediate, hidden]
	Down          Matrix    // mlp.down_proj: [hidden, intermediate]
	// QueryNorm and KeyNorm are Qwen3's self_attn.q_norm and k_norm: an
	// RMSNorm over each head of the queries and keys before the rotary
	// embedding. Nil for Llama and Mistral, which have none.
	QueryNorm, KeyNorm []float32
}

// Decoder is a complete decoder without its language-model head, as
// transformers' LlamaModel and MistralModel are.
type Decoder struct {
	DecoderConfig
	Embeddings Matrix // embed_tokens: [vocab, hidden]
	Layers     []DecoderLayer
	Norm       []float32 // the final norm
}

// headDim is the width of one attention head.
func (c DecoderConfig) headDim() int {
	if c.HeadDim > 0 {
		return c.HeadDim
	}
	return c.HiddenSize / c.Heads
}

// Hidden returns the last hidden state of every token of one sequence (HF
// last_hidden_state: after the final norm), with causal attention and
// positions counted from 0. Sliding-window attention is not modelled: it
// changes nothing while a sequence is no longer than the window.
func (d *Decoder) Hidden(tokens []int32) [][]float64 {
	d.check(tokens)
	x := make([][]float64, len(tokens))
	for i, id := range tokens {
		x[i] = widen(d.Embeddings.Row(int(id)))
	}
	for l := range d.Layers {
		x = d.layer(&d.Layers[l], x)
	}
	for i := range x {
		x[i] = rmsNorm(x[i], d.Norm, d.RMSNormEps)
	}
	return x
}

// LastToken pools a sequence by its last token's state, as
// sentence-transformers' pooling_mode_lasttoken does on unpadded input.
func LastToken(hidden [][]float64) []float64 {
	if len(hidden) == 0 {
		panic("reference: pooling an empty sequence")
	}
	return append([]float64(nil), hidden[len(hidden)-1]...)
}

func (d *Decoder) check(tokens []int32) {
	switch {
	case len(tokens) == 0 || len(tokens) > d.MaxPositions:
		panic(fmt.Sprintf("reference: sequence of %d tokens, want 1..%d", len(tokens), d.MaxPositions))
	case d.Heads < 1 || d.KVHeads < 1 || d.Heads%d.KVHeads != 0:
		panic(fmt.Sprintf("reference: %d KV heads do not divide %d heads", d.KVHeads, d.Heads))
	case d.headDim()%2 != 0:
		panic(fmt.Sprintf("reference: rotary embeddings need an even head size, not %d", d.headDim()))
	}
	for i, id := range tokens {
		if id < 0 || int(id) >= d.Embeddings.Rows {
			panic(fmt.Sprintf("reference: token %d is id %d, vocabulary has %d", i, id, d.Embeddings.Rows))
		}
	}
}

// layer is HF LlamaDecoderLayer: x + attn(norm(x)), then h + mlp(norm(h)).
func (d *Decoder) layer(l *DecoderLayer, x [][]float64) [][]float64 {
	n, hd := len(x), d.headDim()
	q, k, v := make([][]float64, n), make([][]float64, n), make([][]float64, n)
	for i := range x {
		xn := rmsNorm(x[i], l.AttentionNorm, d.RMSNormEps)
		q[i], k[i], v[i] = matVec(l.Query, xn), matVec(l.Key, xn), matVec(l.Value, xn)
		for h := 0; h < d.Heads; h++ {
			headNorm(q[i][h*hd:(h+1)*hd], l.QueryNorm, d.RMSNormEps)
			rotate(q[i][h*hd:(h+1)*hd], i, d.RopeTheta)
		}
		for h := 0; h < d.KVHeads; h++ {
			headNorm(k[i][h*hd:(h+1)*hd], l.KeyNorm, d.RMSNormEps)
			rotate(k[i][h*hd:(h+1)*hd], i, d.RopeTheta)
		}
	}
	group := d.Heads / d.KVHeads // query heads per KV head (HF repeat_kv)
	scale := 1 / math.Sqrt(float64(hd))
	out := make([][]float64, n)
	for i := range x {
		context := make([]float64, d.Heads*hd)
		for h := 0; h < d.Heads; h++ {
			qh := q[i][h*hd : (h+1)*hd]
			kv := h / group * hd
			scores := make([]float64, i+1) // causal: tokens 0..i
			for j := range scores {
				scores[j] = dot(qh, k[j][kv:kv+hd]) * scale
			}
			softmax(scores)
			for j, p := range scores {
				for e := 0; e < hd; e++ {
					context[h*hd+e] += p * v[j][kv+e]
				}
			}
		}
		h := matVec(l.Output, context)
		for e := range h {
			h[e] += x[i][e]
		}
		hn := rmsNorm(h, l.MLPNorm, d.RMSNormEps)
		gate, up := matVec(l.Gate, hn), matVec(l.Up, hn)
		for e := range gate {
			gate[e] = silu(gate[e]) * up[e]
		}
		mlp := matVec(l.Down, gate)
		for e := range h {
			h[e] += mlp[e]
		}
		out[i] = h
	}
	return out
}

// rotate applies HF's rotary embedding to one head at position pos in
// place: dimension e < half pairs with e+half (rotate_half), at angle
// pos·theta^(-2e/headDim).
func rotate(head []float64, pos int, theta float64) {
	half := len(head) / 2
	for e := 0; e < half; e++ {
		angle := float64(pos) * math.Pow(theta, -2*float64(e)/float64(len(head)))
		sin, cos := math.Sincos(angle)
		a, b := head[e], head[e+half]
		head[e], head[e+half] = a*cos-b*sin, b*cos+a*sin
	}
}

// headNorm applies Qwen3's per-head RMSNorm to head in place; a nil
// weight (Llama, Mistral) leaves it as it is.
func headNorm(head []float64, weight []float32, eps float64) {
	if weight != nil {
		copy(head, rmsNorm(head, weight, eps))
	}
}

// rmsNorm is HF LlamaRMSNorm: x / sqrt(mean(x²) + eps), scaled by weight.
func rmsNorm(x []float64, weight []float32, eps float64) []float64 {
	var sum float64
	for _, v := range x {
		sum += v * v
	}
	inv := 1 / math.Sqrt(sum/float64(len(x))+eps)
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = v * inv * float64(weight[i])
	}
	return y
}

func silu(x float64) float64 { return x / (1 + math.Exp(-x)) }

// matVec returns m·x for a bias-free linear layer.
func matVec(m Matrix, x []float64) []float64 {
	if m.Cols != len(x) {
		panic(fmt.Sprintf("reference: %d×%d weight applied to %d inputs", m.Rows, m.Cols, len(x)))
	}
	y := make([]float64, m.Rows)
	for o := range y {
		for i, w := range m.Row(o) {
			y[o] += float64(w) * x[i]
		}
	}
	return y
}

func widen(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}
