package reference

import (
	"fmt"
	"math"
)

// ModernBERTConfig is the shape of a ModernBERT encoder, with the meaning of
// transformers' ModernBertConfig.
type ModernBERTConfig struct {
	HiddenSize   int // hidden_size
	Heads        int // num_attention_heads; must divide HiddenSize
	Intermediate int // intermediate_size: the width of each GeGLU half
	MaxPositions int // max_position_embeddings
	NormEps      float64
	// GlobalEvery is global_attn_every_n_layers: layer i attends globally
	// when i % GlobalEvery == 0, through a sliding window otherwise.
	GlobalEvery int
	// LocalAttention is local_attention, the window's full width: a
	// sliding layer's token i sees token j when |i−j| ≤ LocalAttention/2
	// (ModernBertModel._update_attention_mask, and flash-attn's
	// window_size of (local_attention//2, local_attention//2)).
	LocalAttention int
	// GlobalTheta and LocalTheta are the RoPE bases of global and sliding
	// layers (global_rope_theta, local_rope_theta).
	GlobalTheta, LocalTheta float64
	Activation              Activation // hidden_activation
}

// ModernBERT is a ModernBertModel (transformers' modeling_modernbert.py),
// optionally with ModernBertForSequenceClassification's head: pre-LayerNorm
// layers with a fused Wqkv, NeoX-layout RoPE, alternating global and
// sliding-window attention and a GeGLU feed-forward, without absolute
// positions or token types. A Dense or LayerNorm with a nil Bias has none
// (attention_bias, mlp_bias, norm_bias, classifier_bias false).
type ModernBERT struct {
	ModernBERTConfig
	Embeddings    Matrix    // embeddings.tok_embeddings: [vocab, hidden]
	EmbeddingNorm LayerNorm // embeddings.norm
	Layers        []ModernLayer
	FinalNorm     LayerNorm // final_norm

	// The sequence-classification head, nil for bare encoders: pooling
	// (ClassifierPooling), HeadDense, HeadActivation, HeadNorm, Classifier.
	HeadDense         *Dense
	HeadNorm          *LayerNorm
	Classifier        *Dense
	ClassifierPooling Pooling    // classifier_pooling: cls or mean
	HeadActivation    Activation // classifier_activation
}

// ModernLayer is one ModernBertEncoderLayer.
type ModernLayer struct {
	AttnNorm *LayerNorm // attn_norm; nil in layer 0, where it is an Identity
	Wqkv     Dense      // attn.Wqkv: [3·hidden, hidden], query rows, then key, then value
	Wo       Dense      // attn.Wo
	MLPNorm  LayerNorm  // mlp_norm
	Wi       Dense      // mlp.Wi: [2·intermediate, hidden], the GELU input half, then the gate half
	MLPOut   Dense      // mlp.Wo: [hidden, intermediate]
}

// VocabSize is the number of token ids the model accepts.
func (m *ModernBERT) VocabSize() int { return m.Embeddings.Rows }

// Global reports whether layer i attends over the whole sequence.
func (m *ModernBERT) Global(i int) bool { return i%m.GlobalEvery == 0 }

// Hidden returns the last hidden state of every token of one sequence
// (after final_norm, HF last_hidden_state without padding).
func (m *ModernBERT) Hidden(tokens []int32) [][]float64 {
	m.check(tokens)
	x := make([][]float64, len(tokens))
	for i, id := range tokens {
		x[i] = m.norm(toFloat64(m.Embeddings.Row(int(id))), m.EmbeddingNorm)
	}
	for l := range m.Layers {
		x = m.layer(l, x)
	}
	for i := range x {
		x[i] = m.norm(x[i], m.FinalNorm)
	}
	return x
}

// Classify returns the head's raw logits for one sequence:
// Classifier(HeadNorm(act(HeadDense(pool(h))))).
func (m *ModernBERT) Classify(tokens []int32) []float64 {
	if m.Classifier == nil || m.HeadDense == nil || m.HeadNorm == nil {
		panic("reference: Classify on a ModernBERT without a classification head")
	}
	h := affine(m.HeadDense, Pool(m.Hidden(tokens), m.ClassifierPooling))
	for i := range h {
		h[i] = m.act(m.HeadActivation, h[i])
	}
	return affine(m.Classifier, m.norm(h, *m.HeadNorm))
}

func (m *ModernBERT) check(tokens []int32) {
	switch {
	case len(tokens) == 0 || len(tokens) > m.MaxPositions:
		panic(fmt.Sprintf("reference: sequence of %d tokens, want 1..%d", len(tokens), m.MaxPositions))
	case m.Heads < 1 || m.HiddenSize%m.Heads != 0 || (m.HiddenSize/m.Heads)%2 != 0:
		panic(fmt.Sprintf("reference: %d heads do not split hidden size %d into even head sizes", m.Heads, m.HiddenSize))
	case m.GlobalEvery < 1:
		panic(fmt.Sprintf("reference: global attention every %d layers", m.GlobalEvery))
	}
	for i, id := range tokens {
		if id < 0 || int(id) >= m.VocabSize() {
			panic(fmt.Sprintf("reference: token %d is id %d, vocabulary has %d", i, id, m.VocabSize()))
		}
	}
}

// layer is ModernBertEncoderLayer: x + Wo(attn(attn_norm(x))), then
// h + mlp(mlp_norm(h)).
func (m *ModernBERT) layer(l int, x [][]float64) [][]float64 {
	lw := &m.Layers[l]
	n, hidden := len(x), m.HiddenSize
	theta, window := m.GlobalTheta, -1
	if !m.Global(l) {
		theta, window = m.LocalTheta, m.LocalAttention/2
	}
	q, k, v := make([][]float64, n), make([][]float64, n), make([][]float64, n)
	for i := range x {
		in := x[i]
		if lw.AttnNorm != nil {
			in = m.norm(in, *lw.AttnNorm)
		}
		qkv := affine(&lw.Wqkv, in)
		q[i], k[i], v[i] = qkv[:hidden], qkv[hidden:2*hidden], qkv[2*hidden:]
		headDim := hidden / m.Heads
		for h := range m.Heads {
			rotate(q[i][h*headDim:(h+1)*headDim], i, theta)
			rotate(k[i][h*headDim:(h+1)*headDim], i, theta)
		}
	}
	var mask func(h, i, j int) float64
	if window >= 0 {
		mask = func(_, i, j int) float64 {
			if abs(i-j) > window {
				return math.Inf(-1)
			}
			return 0
		}
	}
	contexts := selfAttention(q, k, v, m.Heads, mask)
	out := make([][]float64, n)
	for i := range x {
		h := affine(&lw.Wo, contexts[i])
		for d := range h {
			h[d] += x[i][d]
		}
		up := affine(&lw.Wi, m.norm(h, lw.MLPNorm))
		ff := up[:m.Intermediate]
		for d := range ff {
			ff[d] = m.act(m.Activation, ff[d]) * up[m.Intermediate+d]
		}
		down := affine(&lw.MLPOut, ff)
		for d := range down {
			down[d] += h[d]
		}
		out[i] = down
	}
	return out
}

// affine is linear for a Dense whose Bias may be nil.
func affine(d *Dense, x []float64) []float64 {
	if d.Bias != nil {
		return linear(d, x)
	}
	return linear(&Dense{Weight: d.Weight, Bias: make([]float32, d.Weight.Rows)}, x)
}

// norm is torch's LayerNorm with m's eps; a nil Bias adds nothing.
func (m *ModernBERT) norm(x []float64, ln LayerNorm) []float64 {
	if ln.Bias == nil {
		ln.Bias = make([]float32, len(ln.Weight))
	}
	return (&Weights{Config: Config{LayerNormEps: m.NormEps}}).layerNorm(x, ln)
}

func (m *ModernBERT) act(a Activation, x float64) float64 {
	return (&Weights{Config: Config{Activation: a}}).gelu(x)
}

func toFloat64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
