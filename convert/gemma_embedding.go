package convert

import (
	"cmp"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
	"github.com/rerank-api/rerank-api/convert/vocab"
)

// gemmaEmbedding converts EmbeddingGemma (Gemma3TextModel with
// use_bidirectional_attention, in a sentence-transformers folder) onto
// llama.cpp's "gemma-embedding" architecture. What llama.cpp fixes rather
// than reads, the converter checks (llama-model.cpp, LLM_ARCH_GEMMA_EMBEDDING):
//   - attention is bidirectional; sliding layers see n_swa/2 tokens on
//     either side, with n_swa config.json's sliding_window (transformers
//     turns it into the exclusive bound sliding_window/2+1, the same set);
//   - every sixth layer is global, the rest slide (layer_types);
//   - sliding layers rotate with base 10000, global ones with rope.freq_base;
//   - queries are scaled by 1/sqrt(head_dim), so query_pre_attn_scalar must
//     be head_dim.
//
// Gemma3RMSNorm scales by 1+w and llama.cpp's RMS norm by w, so every norm
// weight is written with 1 added, as llama.cpp's own converter does. The
// 2_Dense and 3_Dense modules become dense_2 and dense_3, which llama.cpp
// applies after pooling (llama-graph.cpp build_dense_out), before the
// server normalizes.
type gemmaEmbedding struct {
	*llamaFamily
	gemma gemmaConfig
	dense []gemmaDense
}

// gemmaConfig is what config.json says about a Gemma 3 text model beyond
// the fields every architecture shares.
type gemmaConfig struct {
	HiddenActivation     string   `json:"hidden_activation"`
	RopeTheta            *float64 `json:"rope_theta"`
	RopeLocalBaseFreq    float64  `json:"rope_local_base_freq"`
	QueryPreAttnScalar   float64  `json:"query_pre_attn_scalar"`
	SlidingWindow        int      `json:"sliding_window"`
	SlidingWindowPattern int      `json:"sliding_window_pattern"`
	LayerTypes           []string `json:"layer_types"`
	AttnLogitSoftcapping *float64 `json:"attn_logit_softcapping"`
	Bidirectional        bool     `json:"use_bidirectional_attention"`
	// transformers ≥ 4.57 moves the bases here, one per layer type.
	RopeParameters map[string]struct {
		RopeType  string  `json:"rope_type"`
		RopeTheta float64 `json:"rope_theta"`
	} `json:"rope_parameters"`
}

// gemmaDense is one sentence-transformers Dense module: its linear weight
// [out, in] read eagerly (the modules are small: 768 × 3072).
type gemmaDense struct {
	in, out int
	weight  []float32
}

// llama.cpp's fixed choices for gemma-embedding.
const (
	gemmaSlidingPattern = 6
	gemmaLocalRopeBase  = 10000
)

func newGemmaEmbedding(j *job) (converter, error) {
	var gc gemmaConfig
	if _, err := readJSON(filepath.Join(j.dir, "config.json"), &gc); err != nil {
		return nil, err
	}
	// Gemma's activation is hidden_activation; older configs repeat it as
	// hidden_act, which readDecoder would hold to the llama family's silu.
	if act := j.config.HiddenAct; act != "" {
		gc.HiddenActivation = cmp.Or(gc.HiddenActivation, act)
		j.config.HiddenAct = ""
	}
	m, err := readDecoder(j)
	if err != nil {
		return nil, err
	}
	g := &gemmaEmbedding{llamaFamily: m, gemma: gc}
	if err := g.checkConfig(); err != nil {
		return nil, err
	}
	m.pooling = j.st.Pooling
	if m.pooling == "" {
		m.pooling = "mean"
		j.warn("no sentence-transformers pooling config; using mean pooling, as EmbeddingGemma does")
	}
	if g.dense, err = readGemmaDense(j); err != nil {
		return nil, err
	}
	return g, nil
}

// checkConfig refuses what llama.cpp's gemma-embedding would compute
// differently from transformers.
func (g *gemmaEmbedding) checkConfig() error {
	gc, dc, layers := &g.gemma, &g.decoder, g.config.NumHiddenLayers
	if act := gc.HiddenActivation; act != "" && act != "gelu_pytorch_tanh" && act != "gelu_new" {
		return fmt.Errorf("hidden_activation %q: llama.cpp's gemma-embedding computes tanh GELU (gelu_pytorch_tanh) only", act)
	}
	if !gc.Bidirectional {
		return fmt.Errorf("use_bidirectional_attention is not set: this is a causal Gemma 3, and llama.cpp's gemma-embedding " +
			"attends both ways; only EmbeddingGemma-style checkpoints convert")
	}
	if c := gc.AttnLogitSoftcapping; c != nil && *c != 0 {
		return fmt.Errorf("attn_logit_softcapping %v: llama.cpp's gemma-embedding does not cap attention logits", *c)
	}
	local := orDefault(gc.RopeLocalBaseFreq, gemmaLocalRopeBase)
	dc.RopeTheta = 1e6 // Gemma3TextConfig's default
	if gc.RopeTheta != nil {
		dc.RopeTheta = *gc.RopeTheta
	}
	for typ, p := range gc.RopeParameters {
		if p.RopeType != "" && p.RopeType != "default" {
			return fmt.Errorf("rope_parameters.%s.rope_type %q: only plain rotary embeddings convert exactly", typ, p.RopeType)
		}
		switch typ {
		case "sliding_attention":
			local = p.RopeTheta
		case "full_attention":
			dc.RopeTheta = p.RopeTheta
		}
	}
	if local != gemmaLocalRopeBase {
		return fmt.Errorf("the sliding layers' rotary base is %v: llama.cpp's gemma-embedding fixes it at %d", local, gemmaLocalRopeBase)
	}
	if s := orDefault(gc.QueryPreAttnScalar, 256); s != float64(dc.HeadDim) { // 256: Gemma3TextConfig's default
		return fmt.Errorf("query_pre_attn_scalar %v differs from head_dim %d: llama.cpp's gemma-embedding scales queries by 1/sqrt(head_dim)", s, dc.HeadDim)
	}
	if gc.SlidingWindow < 1 {
		return fmt.Errorf("config.json has no sliding_window, which EmbeddingGemma's sliding layers need")
	}
	types := gc.LayerTypes
	if types == nil {
		pattern := gc.SlidingWindowPattern
		if pattern == 0 {
			pattern = gemmaSlidingPattern
		}
		for i := range layers {
			types = append(types, gemmaLayerType((i+1)%pattern == 0))
		}
	}
	if len(types) != layers {
		return fmt.Errorf("layer_types names %d layers, num_hidden_layers is %d", len(types), layers)
	}
	for i, t := range types {
		if want := gemmaLayerType((i+1)%gemmaSlidingPattern == 0); t != want {
			return fmt.Errorf("layer %d is %s: llama.cpp's gemma-embedding makes every %dth layer global and slides the others, so it needs %s",
				i, t, gemmaSlidingPattern, want)
		}
	}
	return nil
}

// gemmaLayerType is transformers' name for a global or sliding layer.
func gemmaLayerType(global bool) string {
	if global {
		return "full_attention"
	}
	return "sliding_attention"
}

// readGemmaDense reads the Dense modules modules.json lists, in order:
// none, or the two of EmbeddingGemma (hidden → projection → hidden,
// bias-free, identity activation), which are what llama.cpp's dense_2
// and dense_3 compute.
func readGemmaDense(j *job) ([]gemmaDense, error) {
	var modules []struct {
		Path string `json:"path"`
		Type string `json:"type"`
	}
	if _, err := readJSON(filepath.Join(j.dir, "modules.json"), &modules); err != nil {
		return nil, err
	}
	var dense []gemmaDense
	for _, m := range modules {
		if !strings.HasSuffix(m.Type, ".Dense") {
			continue
		}
		var cfg struct {
			In         int    `json:"in_features"`
			Out        int    `json:"out_features"`
			Bias       *bool  `json:"bias"`
			Activation string `json:"activation_function"`
		}
		dir := filepath.Join(j.dir, m.Path)
		if found, err := readJSON(filepath.Join(dir, "config.json"), &cfg); err != nil || !found {
			return nil, fmt.Errorf("%s: no Dense config.json (%v)", m.Path, err)
		}
		switch {
		case cfg.Bias == nil || *cfg.Bias:
			return nil, fmt.Errorf("%s has a bias, which llama.cpp's dense_2/dense_3 do not add", m.Path)
		case !strings.HasSuffix(cfg.Activation, "Identity"):
			return nil, fmt.Errorf("%s applies %s, which llama.cpp's dense_2/dense_3 do not", m.Path, cfg.Activation)
		case cfg.In < 1 || cfg.Out < 1:
			return nil, fmt.Errorf("%s: config.json lacks in_features or out_features", m.Path)
		}
		weight, err := readDenseWeight(dir, cfg.In, cfg.Out)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.Path, err)
		}
		dense = append(dense, gemmaDense{in: cfg.In, out: cfg.Out, weight: weight})
	}
	hidden := j.config.HiddenSize
	switch {
	case len(dense) == 0:
		j.warn("no sentence-transformers Dense modules: the embedding is the pooled hidden state; EmbeddingGemma's card projects it through 2_Dense and 3_Dense")
	case len(dense) != 2 || dense[0].in != hidden || dense[1].out != hidden || dense[0].out != dense[1].in:
		return nil, fmt.Errorf("want two Dense modules %d → n → %d, as llama.cpp's dense_2 and dense_3 apply them; found %d", hidden, hidden, len(dense))
	}
	return dense, nil
}

func readDenseWeight(dir string, in, out int) ([]float32, error) {
	ckpt, err := checkpoint.Open(dir)
	if err != nil {
		return nil, err
	}
	defer ckpt.Close()
	info, ok := ckpt.Info("linear.weight")
	if !ok || len(info.Shape) != 2 || int(info.Shape[0]) != out || int(info.Shape[1]) != in {
		return nil, fmt.Errorf("want linear.weight [%d %d], found %v", out, in, info.Shape)
	}
	return ckpt.Float32("linear.weight")
}

func (g *gemmaEmbedding) write(w *gguf.Writer, typ gguf.TensorType) error {
	cfg, dc := g.config, g.decoder
	hidden, ff := cfg.HiddenSize, cfg.IntermediateSize
	v, nVocab, err := g.decoderVocab() // mistral.go
	if err != nil {
		return err
	}
	if v.Model != vocab.ModelSPM {
		g.warn("the tokenizer is not SentencePiece BPE, unlike Gemma's: check that texts tokenize as the model card's do")
	}

	const arch = "gemma-embedding"
	g.writeGeneral(w, arch, typ)
	writeDecoderShape(w, arch, cfg, dc)
	w.AddKV(arch+".attention.key_length", uint32(dc.HeadDim))
	w.AddKV(arch+".attention.value_length", uint32(dc.HeadDim))
	w.AddKV(arch+".attention.sliding_window", uint32(g.gemma.SlidingWindow))
	w.AddKV(arch+".attention.causal", false) // the backend encodes, without a KV cache
	w.AddKV(arch+".rope.dimension_count", uint32(dc.HeadDim))
	w.AddKV(arch+".rope.freq_base", float32(dc.RopeTheta))
	w.AddKV(arch+".pooling_type", poolingTypes[g.pooling])
	if len(g.dense) == 2 {
		w.AddKV(arch+".dense_2_feat_in", uint32(g.dense[0].in))
		w.AddKV(arch+".dense_2_feat_out", uint32(g.dense[0].out))
		w.AddKV(arch+".dense_3_feat_in", uint32(g.dense[1].in))
		w.AddKV(arch+".dense_3_feat_out", uint32(g.dense[1].out))
	}
	if err := v.WriteGGUF(w); err != nil {
		return err
	}
	g.writeServingMetadata(w, true)
	writeTaskPrefix(w, g.st.QueryPrompt)

	q, kv, hd := cfg.NumAttentionHeads*dc.HeadDim, dc.KVHeads*dc.HeadDim, dc.HeadDim
	norm := func(name, hfName string, n int) { g.tensor(w, name, hfName, gguf.TensorF32, addOne, n) }
	g.tensor(w, "token_embd.weight", "embed_tokens.weight", typ, nil, nVocab, hidden)
	for i := range cfg.NumHiddenLayers {
		hf := fmt.Sprintf("layers.%d.", i)
		blk := fmt.Sprintf("blk.%d.", i)
		norm(blk+"attn_norm.weight", hf+"input_layernorm.weight", hidden)
		g.tensor(w, blk+"attn_q.weight", hf+"self_attn.q_proj.weight", typ, nil, q, hidden)
		g.tensor(w, blk+"attn_k.weight", hf+"self_attn.k_proj.weight", typ, nil, kv, hidden)
		g.tensor(w, blk+"attn_v.weight", hf+"self_attn.v_proj.weight", typ, nil, kv, hidden)
		g.tensor(w, blk+"attn_output.weight", hf+"self_attn.o_proj.weight", typ, nil, hidden, q)
		norm(blk+"attn_q_norm.weight", hf+"self_attn.q_norm.weight", hd)
		norm(blk+"attn_k_norm.weight", hf+"self_attn.k_norm.weight", hd)
		norm(blk+"post_attention_norm.weight", hf+"post_attention_layernorm.weight", hidden)
		norm(blk+"ffn_norm.weight", hf+"pre_feedforward_layernorm.weight", hidden)
		norm(blk+"post_ffw_norm.weight", hf+"post_feedforward_layernorm.weight", hidden)
		g.tensor(w, blk+"ffn_gate.weight", hf+"mlp.gate_proj.weight", typ, nil, ff, hidden)
		g.tensor(w, blk+"ffn_up.weight", hf+"mlp.up_proj.weight", typ, nil, ff, hidden)
		g.tensor(w, blk+"ffn_down.weight", hf+"mlp.down_proj.weight", typ, nil, hidden, ff)
	}
	norm("output_norm.weight", "norm.weight", hidden)
	for i, d := range g.dense {
		// HF [out, in] is GGML ne {in, out}.
		w.AddTensorFunc(fmt.Sprintf("dense_%d.weight", i+2), []uint64{uint64(d.in), uint64(d.out)}, typ,
			func() ([]float32, error) { return d.weight, nil })
	}
	return g.finish(w)
}

// addOne turns a Gemma3RMSNorm weight w (the norm scales by 1+w) into the
// scale llama.cpp's RMS norm multiplies by.
func addOne(data []float32) []float32 {
	out := make([]float32, len(data))
	for i, x := range data {
		out[i] = x + 1
	}
	return out
}

// writeTaskPrefix records EmbeddingGemma's query prompt as an instruction
// template: its card writes every task as "task: {task} | query: " (search
// result, question answering, fact checking, classification, clustering,
// sentence similarity, code retrieval), so a request's instruction names
// the task and the default is the query prompt's.
func writeTaskPrefix(w *gguf.Writer, queryPrompt string) {
	const lead, query = "task: ", " | query: "
	end := strings.LastIndex(queryPrompt, query)
	if !strings.HasPrefix(queryPrompt, lead) || end < len(lead) {
		return
	}
	w.AddKV(keys.Instruction, queryPrompt[len(lead):end])
	w.AddKV(keys.InstructionQueryPrefix, lead+"{instruction}"+queryPrompt[end:])
}
