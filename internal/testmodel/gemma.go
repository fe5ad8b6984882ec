package testmodel

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/internal/reference"
)

// GemmaConfig describes a random EmbeddingGemma: a bidirectional Gemma 3
// text model whose layers slide a window over the input except every
// sixth, which attends globally (the pattern llama.cpp's gemma-embedding
// assumes), then mean pooling and two Dense projections.
type GemmaConfig struct {
	Seed         int64
	Hidden       int
	Layers       int
	Heads        int
	KVHeads      int
	HeadDim      int // head_dim; EmbeddingGemma's 256 is not Hidden/Heads
	Intermediate int
	Projection   int // the width between 2_Dense and 3_Dense (3072 for 768)
	MaxPositions int
	// SlidingWindow is config.json's: a sliding layer's token sees the
	// SlidingWindow/2 tokens on either side.
	SlidingWindow  int
	RopeTheta      float64 // the global layers' rotary base
	RopeLocalTheta float64 // the sliding layers'; llama.cpp fixes it at 10000
	RMSNormEps     float64
	InitStd        float64 // standard deviation of matrices and embeddings
}

// The prompts of EmbeddingGemma's model card, which its
// config_sentence_transformers.json carries as "query" and "document".
const (
	GemmaQueryPrompt    = "task: search result | query: "
	GemmaDocumentPrompt = "title: none | text: "
)

// gemmaSlidingPattern is transformers' default layer_types for Gemma 3:
// layer i is global when i+1 is a multiple of it.
const gemmaSlidingPattern = 6

// TinyGemma is a small EmbeddingGemma that runs in milliseconds: six
// layers, so that one is global; a window of 8 (4 tokens either side),
// which the test texts exceed; grouped-query attention with a head size
// unlike Hidden/Heads. Its weights are large (InitStd 0.1) for the reason
// TinyMistral's are.
func TinyGemma(seed int64) GemmaConfig {
	return GemmaConfig{
		Seed: seed, Hidden: 64, Layers: gemmaSlidingPattern, Heads: 4, KVHeads: 2, HeadDim: 32, Intermediate: 128,
		Projection: 256, MaxPositions: 128, SlidingWindow: 8, RopeTheta: 1000000, RopeLocalTheta: 10000,
		RMSNormEps: 1e-6, InitStd: 0.1,
	}
}

func (c GemmaConfig) validate() error {
	switch {
	case c.Hidden < 1 || c.Layers < 1 || c.Intermediate < 1 || c.Projection < 1 || c.MaxPositions < 1:
		return fmt.Errorf("hidden %d, layers %d, intermediate %d, projection %d and max positions %d must be positive",
			c.Hidden, c.Layers, c.Intermediate, c.Projection, c.MaxPositions)
	case c.Heads < 1 || c.KVHeads < 1 || c.Heads%c.KVHeads != 0:
		return fmt.Errorf("%d KV heads do not divide %d heads", c.KVHeads, c.Heads)
	case c.HeadDim < 2 || c.HeadDim%2 != 0 || c.SlidingWindow < 2:
		return fmt.Errorf("head dim %d must be positive and even, sliding window %d at least 2", c.HeadDim, c.SlidingWindow)
	case c.RopeTheta <= 0 || c.RopeLocalTheta <= 0 || c.RMSNormEps <= 0 || c.InitStd <= 0:
		return fmt.Errorf("rope thetas %v, %v, RMS norm eps %v and init std %v must be positive",
			c.RopeTheta, c.RopeLocalTheta, c.RMSNormEps, c.InitStd)
	}
	return nil
}

// GenerateGemma draws random weights for cfg: matrices, embeddings and
// the Dense projections normal with standard deviation InitStd, norm
// weights 0 ± 0.1 (Gemma's norms scale by 1 + w), each tensor from its own
// stream keyed by Seed and its HF name. The model computes GELU as HF
// does. It panics on an invalid config.
func GenerateGemma(cfg GemmaConfig) *reference.Gemma {
	if err := cfg.validate(); err != nil {
		panic("testmodel: " + err.Error())
	}
	g := generator{seed: cfg.Seed, std: cfg.InitStd}
	h, ff, hd := cfg.Hidden, cfg.Intermediate, cfg.HeadDim
	q, kv := cfg.Heads*hd, cfg.KVHeads*hd
	norm := func(name string, n int) []float32 { return g.normal(name, n, 0, 0.1) }
	m := &reference.Gemma{
		GemmaConfig: reference.GemmaConfig{
			HiddenSize: h, Heads: cfg.Heads, KVHeads: cfg.KVHeads, HeadDim: hd, Intermediate: ff,
			MaxPositions: cfg.MaxPositions, RopeTheta: cfg.RopeTheta, RopeLocalTheta: cfg.RopeLocalTheta,
			RMSNormEps: cfg.RMSNormEps, QueryPreAttnScalar: float64(hd), SlidingWindow: cfg.SlidingWindow,
			SlidingPattern: gemmaSlidingPattern, Activation: reference.GELUTanh,
		},
		Embeddings: g.matrix("embed_tokens", len(GemmaVocab()), h),
		Norm:       norm("norm.weight", h),
		Dense2:     g.matrix("2_Dense.linear", cfg.Projection, h),
		Dense3:     g.matrix("3_Dense.linear", h, cfg.Projection),
	}
	for i := range cfg.Layers {
		p := fmt.Sprintf("layers.%d.", i)
		m.Layers = append(m.Layers, reference.GemmaLayer{
			InputNorm:           norm(p+"input_layernorm.weight", h),
			Query:               g.matrix(p+"self_attn.q_proj", q, h),
			Key:                 g.matrix(p+"self_attn.k_proj", kv, h),
			Value:               g.matrix(p+"self_attn.v_proj", kv, h),
			Output:              g.matrix(p+"self_attn.o_proj", h, q),
			QueryNorm:           norm(p+"self_attn.q_norm.weight", hd),
			KeyNorm:             norm(p+"self_attn.k_norm.weight", hd),
			PostAttentionNorm:   norm(p+"post_attention_layernorm.weight", h),
			PreFeedforwardNorm:  norm(p+"pre_feedforward_layernorm.weight", h),
			PostFeedforwardNorm: norm(p+"post_feedforward_layernorm.weight", h),
			Gate:                g.matrix(p+"mlp.gate_proj", ff, h),
			Up:                  g.matrix(p+"mlp.up_proj", ff, h),
			Down:                g.matrix(p+"mlp.down_proj", h, ff),
		})
	}
	return m
}

// WriteGemmaHF writes m as google/embeddinggemma-300m is laid out:
// config.json (Gemma3TextModel, bidirectional), model.safetensors under
// Gemma3TextModel's names, Gemma's tokenizer files, and the
// sentence-transformers modules Transformer, mean Pooling, 2_Dense,
// 3_Dense (bias-free, identity activation) and Normalize, with the card's
// prompts.
func WriteGemmaHF(dir string, m *reference.Gemma, cfg GemmaConfig) error {
	if err := writeGemmaHF(dir, m, cfg); err != nil {
		return fmt.Errorf("testmodel: %w", err)
	}
	return nil
}

func writeGemmaHF(dir string, m *reference.Gemma, cfg GemmaConfig) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	for _, sub := range []string{"1_Pooling", "2_Dense", "3_Dense"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
	}
	layerTypes := make([]string, len(m.Layers))
	for i := range layerTypes {
		layerTypes[i] = "sliding_attention"
		if m.Global(i) {
			layerTypes[i] = "full_attention"
		}
	}
	dense := func(w reference.Matrix) map[string]any {
		return map[string]any{"in_features": w.Cols, "out_features": w.Rows, "bias": false,
			"activation_function": "torch.nn.modules.linear.Identity"}
	}
	files := map[string]any{
		"config.json": map[string]any{
			"architectures": []string{"Gemma3TextModel"}, "model_type": "gemma3_text",
			"hidden_size": m.HiddenSize, "num_hidden_layers": len(m.Layers), "num_attention_heads": m.Heads,
			"num_key_value_heads": m.KVHeads, "head_dim": m.HeadDim, "intermediate_size": m.Intermediate,
			"hidden_activation": "gelu_pytorch_tanh", "max_position_embeddings": m.MaxPositions,
			"rope_theta": m.RopeTheta, "rope_local_base_freq": m.RopeLocalTheta, "rope_scaling": nil,
			"rms_norm_eps": m.RMSNormEps, "query_pre_attn_scalar": m.QueryPreAttnScalar,
			"sliding_window": m.SlidingWindow, "layer_types": layerTypes, "use_bidirectional_attention": true,
			"attention_bias": false, "attention_dropout": 0.0, "attn_logit_softcapping": nil,
			"final_logit_softcapping": nil, "vocab_size": m.Embeddings.Rows, "initializer_range": cfg.InitStd,
			"pad_token_id": gemmaPad, "eos_token_id": gemmaEOS, "bos_token_id": gemmaBOS,
			"torch_dtype": "float32", "use_cache": true, "transformers_version": "4.57.0",
		},
		"tokenizer.json": gemmaTokenizerJSON(),
		"special_tokens_map.json": map[string]any{
			"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": "<unk>",
		},
		"tokenizer_config.json": map[string]any{
			"tokenizer_class": "GemmaTokenizer", "add_bos_token": true, "add_eos_token": true,
			"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": "<unk>",
			"model_max_length": m.MaxPositions, "spaces_between_special_tokens": false,
			"added_tokens_decoder": gemmaAddedDecoder(),
		},
		"modules.json": []any{
			map[string]any{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
			map[string]any{"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
			map[string]any{"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
			map[string]any{"idx": 3, "name": "3", "path": "3_Dense", "type": "sentence_transformers.models.Dense"},
			map[string]any{"idx": 4, "name": "4", "path": "4_Normalize", "type": "sentence_transformers.models.Normalize"},
		},
		"1_Pooling/config.json": map[string]any{
			"word_embedding_dimension": m.HiddenSize, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true,
			"pooling_mode_max_tokens": false, "pooling_mode_mean_sqrt_len_tokens": false,
			"pooling_mode_weightedmean_tokens": false, "pooling_mode_lasttoken": false, "include_prompt": true,
		},
		"2_Dense/config.json":       dense(m.Dense2),
		"3_Dense/config.json":       dense(m.Dense3),
		"sentence_bert_config.json": map[string]any{"max_seq_length": m.MaxPositions, "do_lower_case": false},
		"config_sentence_transformers.json": map[string]any{
			"prompts": map[string]string{
				"query": GemmaQueryPrompt, "document": GemmaDocumentPrompt,
				"Clustering": "task: clustering | query: ", "Classification": "task: classification | query: ",
				"STS": "task: sentence similarity | query: ", "Retrieval-document": GemmaDocumentPrompt,
			},
			"default_prompt_name": nil, "similarity_fn_name": "cosine",
		},
	}
	for name, v := range files {
		if err := writeJSON(filepath.Join(dir, name), v); err != nil {
			return err
		}
	}
	for name, w := range map[string]reference.Matrix{"2_Dense": m.Dense2, "3_Dense": m.Dense3} {
		t := []checkpoint.NamedTensor{{Name: "linear.weight", Shape: []int64{int64(w.Rows), int64(w.Cols)},
			DType: checkpoint.F32, Data: checkpoint.F32Bytes(w.Data)}}
		if err := checkpoint.WriteSafetensors(filepath.Join(dir, name, "model.safetensors"), t, map[string]string{"format": "pt"}); err != nil {
			return err
		}
	}
	return checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), gemmaTensors(m), map[string]string{"format": "pt"})
}

// gemmaTensors lays m out under modeling_gemma3.py's Gemma3TextModel
// names (no "model." prefix, no lm_head).
func gemmaTensors(m *reference.Gemma) []checkpoint.NamedTensor {
	var ts []checkpoint.NamedTensor
	add := func(name string, shape []int64, data []float32) {
		ts = append(ts, checkpoint.NamedTensor{Name: name, Shape: shape, DType: checkpoint.F32, Data: checkpoint.F32Bytes(data)})
	}
	matrix := func(name string, w reference.Matrix) { add(name, []int64{int64(w.Rows), int64(w.Cols)}, w.Data) }
	vector := func(name string, v []float32) { add(name, []int64{int64(len(v))}, v) }
	matrix("embed_tokens.weight", m.Embeddings)
	for i, l := range m.Layers {
		p := fmt.Sprintf("layers.%d.", i)
		vector(p+"input_layernorm.weight", l.InputNorm)
		matrix(p+"self_attn.q_proj.weight", l.Query)
		matrix(p+"self_attn.k_proj.weight", l.Key)
		matrix(p+"self_attn.v_proj.weight", l.Value)
		matrix(p+"self_attn.o_proj.weight", l.Output)
		vector(p+"self_attn.q_norm.weight", l.QueryNorm)
		vector(p+"self_attn.k_norm.weight", l.KeyNorm)
		vector(p+"post_attention_layernorm.weight", l.PostAttentionNorm)
		vector(p+"pre_feedforward_layernorm.weight", l.PreFeedforwardNorm)
		vector(p+"post_feedforward_layernorm.weight", l.PostFeedforwardNorm)
		matrix(p+"mlp.gate_proj.weight", l.Gate)
		matrix(p+"mlp.up_proj.weight", l.Up)
		matrix(p+"mlp.down_proj.weight", l.Down)
	}
	vector("norm.weight", m.Norm)
	return ts
}
