package convert

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"

	"github.com/rerank-api/rerank-api/convert/gguf"
)

// nomicMoE converts nomic-embed-text-v2-moe (NomicBertModel with experts,
// code in nomic-ai/nomic-bert-2048) onto llama.cpp's "nomic-bert-moe": a
// post-LayerNorm BERT with rotary attention over a fused Wqkv and, on every
// moe_every_n_layers-th layer, top-k experts behind a softmax router whose
// probabilities are used without renormalization. llama.cpp hard-codes
// that gating (softmax, no renormalization, GELU experts without biases)
// and puts MoE on layers i % moe_every_n_layers == 1, so the converter
// checks the config says the same before writing anything.
type nomicMoE struct {
	*job
	cfg     nomicConfig
	pooling string
	nVocab  int
}

// nomicConfig is the part of nomic-bert-2048's config.json (GPT-2-style
// names) the converter reads.
type nomicConfig struct {
	NEmbd               int      `json:"n_embd"`
	NHead               int      `json:"n_head"`
	NInner              int      `json:"n_inner"`
	NLayer              int      `json:"n_layer"`
	NPositions          int      `json:"n_positions"`
	MaxTrainedPositions int      `json:"max_trained_positions"`
	LayerNormEpsilon    float64  `json:"layer_norm_epsilon"`
	ActivationFunction  string   `json:"activation_function"`
	TypeVocabSize       int      `json:"type_vocab_size"`
	Causal              bool     `json:"causal"`
	Prenorm             bool     `json:"prenorm"`
	ParallelBlock       bool     `json:"parallel_block"`
	RotaryEmbBase       float64  `json:"rotary_emb_base"`
	RotaryEmbFraction   float64  `json:"rotary_emb_fraction"`
	RotaryInterleaved   bool     `json:"rotary_emb_interleaved"`
	RotaryScalingFactor *float64 `json:"rotary_scaling_factor"`
	NumExperts          int      `json:"num_experts"`
	MoETopK             int      `json:"moe_top_k"`
	MoEEveryNLayers     int      `json:"moe_every_n_layers"`
	NumSharedExperts    int      `json:"num_shared_experts"`
	ExpertChoiceRouter  bool     `json:"expert_choice_router"`
	// megablocks' moe_normalize_expert_weights: false/null, or the p of
	// the p-norm the top-k weights are divided by.
	NormalizeExpertWeights json.RawMessage `json:"moe_normalize_expert_weights"`
}

func newNomicBERT(j *job) (converter, error) {
	var c nomicConfig
	if _, err := readJSON(filepath.Join(j.dir, "config.json"), &c); err != nil {
		return nil, err
	}
	if err := c.check(j.arch); err != nil {
		return nil, err
	}
	words, ok := j.ckpt.Info("embeddings.word_embeddings.weight")
	if !ok || len(words.Shape) != 2 || int(words.Shape[1]) != c.NEmbd {
		return nil, fmt.Errorf("%s: embeddings.word_embeddings.weight has shape %v, want [vocab, n_embd %d]", j.arch, words.Shape, c.NEmbd)
	}
	m := &nomicMoE{job: j, cfg: c, pooling: j.st.Pooling, nVocab: int(words.Shape[0])}
	if m.pooling == "" {
		m.pooling = "mean"
		j.warn("no sentence-transformers pooling config (1_Pooling/config.json); using mean pooling as nomic-embed-text-v2-moe does — set pooling in the catalog if the model card says otherwise")
	}
	for i := range c.NLayer {
		_, hasRouter := j.ckpt.Info(fmt.Sprintf("encoder.layers.%d.mlp.router.layer.weight", i))
		if want := c.isMoE(i); hasRouter != want {
			return nil, fmt.Errorf("%s: layer %d has a router: %v, but llama.cpp's nomic-bert-moe puts experts exactly on layers i %% moe_every_n_layers (%d) == 1", j.arch, i, hasRouter, c.MoEEveryNLayers)
		}
	}
	return m, nil
}

// check refuses what llama.cpp's nomic-bert-moe graph would compute
// differently from the checkpoint's own code.
func (c nomicConfig) check(arch string) error {
	normalized := len(c.NormalizeExpertWeights) > 0 && string(c.NormalizeExpertWeights) != "false" && string(c.NormalizeExpertWeights) != "null"
	switch {
	case c.NumExperts == 0:
		return fmt.Errorf("%s without experts (nomic-embed-text-v1/v1.5) is llama.cpp's nomic-bert architecture, which this converter does not write; only nomic-embed-text-v2-moe (num_experts > 0) is supported", arch)
	case c.NEmbd < 1 || c.NHead < 1 || c.NEmbd%c.NHead != 0 || c.NLayer < 1 || c.NInner < 1:
		return fmt.Errorf("%s: config.json has n_embd %d, n_head %d, n_layer %d, n_inner %d; want positive sizes with n_head dividing n_embd", arch, c.NEmbd, c.NHead, c.NLayer, c.NInner)
	case c.ActivationFunction != "gelu":
		return fmt.Errorf("%s with activation_function %q: llama.cpp's nomic-bert-moe computes GELU experts and feed-forwards only", arch, c.ActivationFunction)
	case c.Prenorm || c.ParallelBlock || c.Causal:
		return fmt.Errorf("%s: prenorm %v, parallel_block %v, causal %v; llama.cpp's nomic-bert-moe is a bidirectional post-norm encoder", arch, c.Prenorm, c.ParallelBlock, c.Causal)
	case c.RotaryEmbFraction != 1 || c.RotaryInterleaved:
		return fmt.Errorf("%s: rotary_emb_fraction %g, rotary_emb_interleaved %v; llama.cpp rotates whole heads in GPT-NeoX halves (fraction 1, not interleaved)", arch, c.RotaryEmbFraction, c.RotaryInterleaved)
	case c.RotaryScalingFactor != nil:
		return fmt.Errorf("%s: rotary_scaling_factor %g (dynamic NTK) is not computed by llama.cpp's nomic-bert-moe", arch, *c.RotaryScalingFactor)
	case c.MoETopK < 1 || c.MoETopK > c.NumExperts || c.MoEEveryNLayers < 1:
		return fmt.Errorf("%s: moe_top_k %d of %d experts every %d layers; want 1 ≤ top_k ≤ num_experts and moe_every_n_layers ≥ 1", arch, c.MoETopK, c.NumExperts, c.MoEEveryNLayers)
	case c.NumSharedExperts != 0 || c.ExpertChoiceRouter:
		return fmt.Errorf("%s: %d shared experts, expert_choice_router %v; llama.cpp's nomic-bert-moe routes tokens to top-k experts only", arch, c.NumSharedExperts, c.ExpertChoiceRouter)
	case normalized:
		return fmt.Errorf("%s: moe_normalize_expert_weights %s; llama.cpp's nomic-bert-moe uses the router's softmax probabilities as they are", arch, c.NormalizeExpertWeights)
	}
	return nil
}

func (c nomicConfig) isMoE(layer int) bool { return layer%c.MoEEveryNLayers == 1 }

// contextLength is the longest sequence the model was trained on.
func (c nomicConfig) contextLength() int {
	if c.MaxTrainedPositions > 0 {
		return c.MaxTrainedPositions
	}
	return c.NPositions
}

func (m *nomicMoE) write(w *gguf.Writer, typ gguf.TensorType) error {
	const arch = "nomic-bert-moe"
	c := m.cfg
	if c.contextLength() < 1 {
		return fmt.Errorf("%s: config.json has neither max_trained_positions nor n_positions: llama.cpp needs the trained context length", m.arch)
	}
	v, err := m.loadVocab(m.nVocab)
	if err != nil {
		return err
	}
	m.writeGeneral(w, arch, typ)
	w.AddKV(arch+".context_length", uint32(c.contextLength()))
	w.AddKV(arch+".embedding_length", uint32(c.NEmbd))
	w.AddKV(arch+".feed_forward_length", uint32(c.NInner))
	w.AddKV(arch+".block_count", uint32(c.NLayer))
	w.AddKV(arch+".attention.head_count", uint32(c.NHead))
	w.AddKV(arch+".attention.layer_norm_epsilon", float32(orDefault(c.LayerNormEpsilon, 1e-5)))
	w.AddKV(arch+".attention.causal", false)
	w.AddKV(arch+".pooling_type", poolingTypes[m.pooling])
	w.AddKV(arch+".rope.freq_base", float32(orDefault(c.RotaryEmbBase, 10000)))
	w.AddKV(arch+".expert_count", uint32(c.NumExperts))
	w.AddKV(arch+".expert_used_count", uint32(c.MoETopK))
	w.AddKV(arch+".moe_every_n_layers", uint32(c.MoEEveryNLayers))
	if err := v.WriteGGUF(w); err != nil {
		return err
	}
	w.AddKV("tokenizer.ggml.token_type_count", uint32(max(c.TypeVocabSize, 1)))
	m.writeServingMetadata(w, true)

	m.matrix(w, "token_embd.weight", "embeddings.word_embeddings.weight", typ)
	m.matrix(w, "token_types.weight", "embeddings.token_type_embeddings.weight", gguf.TensorF32)
	m.vector(w, "token_embd_norm.weight", "emb_ln.weight")
	m.vector(w, "token_embd_norm.bias", "emb_ln.bias")
	b := &bertFamily{job: m.job}
	for i := range c.NLayer {
		hf, blk := fmt.Sprintf("encoder.layers.%d.", i), fmt.Sprintf("blk.%d.", i)
		b.dense(w, blk+"attn_qkv", hf+"attn.Wqkv", typ)
		b.dense(w, blk+"attn_output", hf+"attn.out_proj", typ)
		b.dense(w, blk+"attn_output_norm", hf+"norm1", gguf.TensorF32)
		b.dense(w, blk+"layer_output_norm", hf+"norm2", gguf.TensorF32)
		if !c.isMoE(i) {
			b.dense(w, blk+"ffn_up", hf+"mlp.fc1", typ)
			b.dense(w, blk+"ffn_down", hf+"mlp.fc2", typ)
			continue
		}
		m.matrix(w, blk+"ffn_gate_inp.weight", hf+"mlp.router.layer.weight", typ)
		m.experts(w, blk, hf, typ)
		m.warnExpertBias(hf + "mlp.experts.bias")
	}
	return m.finish(w)
}

// experts writes megablocks' stacks. w1 is [experts·inner, hidden]:
// expert e's up projection, rows [out, in], is ggml's {hidden, inner, e}
// as it stands. w2 holds each expert's down projection transposed (also
// [inner, hidden], used as x·w2[e]), so it is transposed back per expert
// into ggml's {inner, hidden, e}.
func (m *nomicMoE) experts(w *gguf.Writer, blk, hf string, typ gguf.TensorType) {
	c := m.cfg
	e, inner, hidden := c.NumExperts, c.NInner, c.NEmbd
	for _, name := range []string{"mlp.experts.mlp.w1", "mlp.experts.mlp.w2"} {
		info, ok := m.source(hf+name, 2)
		if ok && (int(info.Shape[0]) != e*inner || int(info.Shape[1]) != hidden) {
			if m.missing == nil {
				m.missing = fmt.Errorf("tensor %s%s has shape %v, want [num_experts·n_inner %d, n_embd %d]", hf, name, info.Shape, e*inner, hidden)
			}
			return
		}
	}
	ne := func(a, b int) []uint64 { return []uint64{uint64(a), uint64(b), uint64(e)} }
	w.AddTensorFunc(blk+"ffn_up_exps.weight", ne(hidden, inner), typ, func() ([]float32, error) {
		return m.ckpt.Float32(hf + "mlp.experts.mlp.w1")
	})
	w.AddTensorFunc(blk+"ffn_down_exps.weight", ne(inner, hidden), typ, func() ([]float32, error) {
		w2, err := m.ckpt.Float32(hf + "mlp.experts.mlp.w2")
		if err != nil {
			return nil, err
		}
		out := make([]float32, len(w2))
		for x := range e {
			src, dst := w2[x*inner*hidden:(x+1)*inner*hidden], out[x*inner*hidden:(x+1)*inner*hidden]
			for f := range inner {
				for d := range hidden {
					dst[d*inner+f] = src[f*hidden+d]
				}
			}
		}
		return out, nil
	})
}

// warnExpertBias says what llama.cpp's graph leaves out: the bias megablocks
// adds once to the experts' weighted sum. Its nomic-bert-moe has no tensor
// for it (llama.cpp's own converter drops it too), so a non-zero one makes
// the served embeddings differ from sentence-transformers'.
func (m *nomicMoE) warnExpertBias(name string) {
	if _, ok := m.ckpt.Info(name); !ok {
		return
	}
	bias, err := m.ckpt.Float32(name)
	if err != nil {
		m.warn("reading %s: %v", name, err)
		return
	}
	largest := 0.0
	for _, x := range bias {
		largest = math.Max(largest, math.Abs(float64(x)))
	}
	if largest > 0 {
		m.warn("%s (max |b| %.3g) is dropped: llama.cpp's nomic-bert-moe has no MoE output bias, so embeddings differ slightly from sentence-transformers'", name, largest)
	}
}
