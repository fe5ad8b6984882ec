package reference

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// NomicMoE is nomic-embed-text-v2-moe's encoder as nomic-ai/nomic-bert-2048's
// modeling_hf_nomic_bert.py runs it (NomicBertModel with MoE layers): a
// post-LayerNorm BERT without a position table whose attention rotates
// queries and keys (rotary over the whole head, GPT-NeoX halves, positions
// from 0), with one fused Wqkv, and whose feed-forward is, on every MoE
// layer, a router choosing TopK of the experts.
type NomicMoE struct {
	HiddenSize   int
	Heads        int // must divide HiddenSize
	LayerNormEps float64
	RopeTheta    float64 // rotary_emb_base
	TopK         int     // moe_top_k
	// MaxPositions bounds the sequences Hidden accepts (max_trained_positions).
	MaxPositions int

	WordEmbeddings Matrix // [vocab, hidden]
	// TokenType is the single row of token_type_embeddings (type_vocab_size
	// 1), added to every token.
	TokenType     []float32
	EmbeddingNorm LayerNorm // emb_ln
	Layers        []NomicLayer
}

// NomicLayer is one NomicBertBlock with prenorm false: Norm1(attn(x) + x),
// then Norm2(mlp(h) + h), where mlp is either the dense FC1 → erf GELU →
// FC2 or Experts.
type NomicLayer struct {
	QKV     Dense // attn.Wqkv: [3·hidden, hidden], rows Q then K then V
	Out     Dense // attn.out_proj
	Norm1   LayerNorm
	Norm2   LayerNorm
	FC1     *Dense // mlp.fc1; nil on MoE layers
	FC2     *Dense // mlp.fc2
	Experts *NomicExperts
}

// NomicExperts is NomicMoELayer: the router's softmax over all experts, the
// TopK largest probabilities taken as they are (moe_normalize_expert_weights
// false: they are not renormalized to sum to 1), each chosen expert's
// W2ᵀ·gelu(W1·x) scaled by its probability, and one Bias shared by all
// experts added once to the sum.
type NomicExperts struct {
	Router Matrix // mlp.router.layer.weight: [experts, hidden], no bias
	// W1 and W2 are mlp.experts.mlp.w1 and w2, both [experts·inner, hidden]
	// with expert e owning rows e·inner … (e+1)·inner: W1's rows are the up
	// projection's outputs, W2's the down projection's inputs.
	W1, W2 Matrix
	Bias   []float32 // mlp.experts.bias: [hidden]
	// Renormalize divides the chosen probabilities by their sum, as
	// megablocks does with moe_normalize_expert_weights 1 (and Mixtral
	// always); nomic-embed-text-v2-moe has it off.
	Renormalize bool
}

// Hidden returns the last hidden state of every token of one sequence.
func (m *NomicMoE) Hidden(tokens []int32) [][]float64 {
	m.check(tokens)
	norm := &Weights{Config: Config{LayerNormEps: m.LayerNormEps}}
	x := m.embed(norm, tokens)
	for l := range m.Layers {
		x = m.layer(norm, &m.Layers[l], x)
	}
	return x
}

// embed is emb_ln(word + token type 0): no position table, rotary
// attention places the tokens.
func (m *NomicMoE) embed(norm *Weights, tokens []int32) [][]float64 {
	x := make([][]float64, len(tokens))
	for i, id := range tokens {
		e := widen(m.WordEmbeddings.Row(int(id)))
		for d := range e {
			e[d] += float64(m.TokenType[d])
		}
		x[i] = norm.layerNorm(e, m.EmbeddingNorm)
	}
	return x
}

func (m *NomicMoE) check(tokens []int32) {
	switch {
	case len(tokens) == 0 || len(tokens) > m.MaxPositions:
		panic(fmt.Sprintf("reference: sequence of %d tokens, want 1..%d", len(tokens), m.MaxPositions))
	case m.Heads < 1 || m.HiddenSize%m.Heads != 0 || (m.HiddenSize/m.Heads)%2 != 0:
		panic(fmt.Sprintf("reference: %d heads do not split hidden size %d into even head widths", m.Heads, m.HiddenSize))
	}
	for i, id := range tokens {
		if id < 0 || int(id) >= m.WordEmbeddings.Rows {
			panic(fmt.Sprintf("reference: token %d is id %d, vocabulary has %d", i, id, m.WordEmbeddings.Rows))
		}
	}
}

func (m *NomicMoE) layer(norm *Weights, l *NomicLayer, x [][]float64) [][]float64 {
	attended := m.attend(norm, l, x)
	out := make([][]float64, len(x))
	for i, a := range attended {
		var f []float64
		if l.Experts != nil {
			f = l.Experts.forward(a, m.TopK)
		} else {
			f = linear(l.FC1, a)
			for j := range f {
				f[j] = geluErf(f[j])
			}
			f = linear(l.FC2, f)
		}
		for d := range f {
			f[d] += a[d]
		}
		out[i] = norm.layerNorm(f, l.Norm2)
	}
	return out
}

// attend is the layer's first half, Norm1(attn(x) + x): the feed-forward's
// and the router's input.
func (m *NomicMoE) attend(norm *Weights, l *NomicLayer, x [][]float64) [][]float64 {
	n, h := len(x), m.HiddenSize
	headDim := h / m.Heads
	q, k, v := make([][]float64, n), make([][]float64, n), make([][]float64, n)
	for i := range x {
		qkv := linear(&l.QKV, x[i])
		q[i], k[i], v[i] = qkv[:h], qkv[h:2*h], qkv[2*h:]
		for hd := range m.Heads {
			rotate(q[i][hd*headDim:(hd+1)*headDim], i, m.RopeTheta)
			rotate(k[i][hd*headDim:(hd+1)*headDim], i, m.RopeTheta)
		}
	}
	contexts := selfAttention(q, k, v, m.Heads, nil)
	out := make([][]float64, n)
	for i := range x {
		a := linear(&l.Out, contexts[i])
		for d := range a {
			a[d] += x[i][d]
		}
		out[i] = norm.layerNorm(a, l.Norm1)
	}
	return out
}

// route returns the router's probabilities over all experts and the topK
// experts, most probable first (torch.topk).
func (e *NomicExperts) route(x []float64, topK int) (probs []float64, chosen []int) {
	probs = matVec(e.Router, x)
	softmax(probs)
	order := make([]int, len(probs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(probs[b], probs[a]) })
	return probs, order[:topK]
}

func (e *NomicExperts) forward(x []float64, topK int) []float64 {
	probs, chosen := e.route(x, topK)
	if e.Renormalize {
		var sum float64
		for _, ex := range chosen {
			sum += probs[ex]
		}
		for _, ex := range chosen {
			probs[ex] /= sum
		}
	}
	hidden := len(x)
	inner := e.W1.Rows / e.Router.Rows
	out := make([]float64, hidden)
	for _, ex := range chosen {
		for f := range inner {
			row := ex*inner + f
			u := geluErf(dot(widen(e.W1.Row(row)), x))
			for d, w := range e.W2.Row(row) {
				out[d] += probs[ex] * u * float64(w)
			}
		}
	}
	for d := range out {
		out[d] += float64(e.Bias[d])
	}
	return out
}

// MinRouterGap is, over every token of tokens and every MoE layer, the
// smallest difference between the router logits of the TopK-th and the
// next expert. An implementation computing in f32 chooses the same experts
// as this reference only where that gap is well above its rounding; tests
// check it so that no near-tie can make them disagree.
func (m *NomicMoE) MinRouterGap(tokens []int32) float64 {
	m.check(tokens)
	norm := &Weights{Config: Config{LayerNormEps: m.LayerNormEps}}
	x := m.embed(norm, tokens)
	gap := math.Inf(1)
	for li := range m.Layers {
		l := &m.Layers[li]
		if l.Experts != nil {
			for _, a := range m.attend(norm, l, x) {
				logits := matVec(l.Experts.Router, a)
				slices.SortFunc(logits, func(p, q float64) int { return cmp.Compare(q, p) })
				if m.TopK < len(logits) {
					gap = math.Min(gap, logits[m.TopK-1]-logits[m.TopK])
				}
			}
		}
		x = m.layer(norm, l, x)
	}
	return gap
}

func geluErf(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }
