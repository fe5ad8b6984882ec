package testmodel

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/internal/reference"
)

// Qwen3Config describes a random Qwen3 decoder in the layout of
// Qwen3-Embedding or Qwen3-Reranker.
type Qwen3Config struct {
	MistralConfig     // the decoder's shape and seed
	HeadDim       int // head_dim; Qwen3's is not Hidden/Heads
	// Reranker writes Qwen3-Reranker's layout: weights under "model.", an
	// lm_head unless Tied, no sentence-transformers files.
	Reranker bool
	// Tied: tie_word_embeddings, so the checkpoint has no lm_head and the
	// head is the embedding matrix (Qwen3-Reranker-0.6B).
	Tied bool
}

// The prompts of the Qwen3 model cards. Qwen3-Embedding's query prompt
// (its config_sentence_transformers.json "query") has no space after
// "Query:"; documents get none. Qwen3-Reranker formats a pair as
// Qwen3RerankPrefix + "<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {doc}"
// + Qwen3RerankSuffix.
const (
	Qwen3Instruction   = "Given a web search query, retrieve relevant passages that answer the query"
	Qwen3QueryPrompt   = "Instruct: " + Qwen3Instruction + "\nQuery:"
	Qwen3RerankPrefix  = "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct provided. Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n"
	Qwen3RerankSuffix  = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
	qwen3EndOfText     = "<|endoftext|>"
	qwen3InitializerSD = 0.1
)

// TinyQwen3 is a small Qwen3 that runs in milliseconds: grouped-query
// attention, and a head size unlike Hidden/Heads, as Qwen3's 128 is. Its
// weights are large (InitStd 0.1) for the reason TinyMistral's are.
func TinyQwen3(seed int64) Qwen3Config {
	return Qwen3Config{
		MistralConfig: MistralConfig{
			Seed: seed, Hidden: 64, Layers: 2, Heads: 4, KVHeads: 2, Intermediate: 128,
			MaxPositions: 512, RopeTheta: 1000000, RMSNormEps: 1e-6, InitStd: qwen3InitializerSD,
		},
		HeadDim: 32,
	}
}

// GenerateQwen3 draws random weights for cfg: matrices and embeddings
// normal with standard deviation InitStd, norm weights (the per-head
// query and key norms too) 1 ± 0.1, each tensor from its own stream keyed
// by Seed and its HF name. It panics on an invalid config.
func GenerateQwen3(cfg Qwen3Config) *reference.Qwen3 {
	if err := cfg.validate(); err != nil {
		panic("testmodel: " + err.Error())
	}
	g := generator{seed: cfg.Seed, std: cfg.InitStd}
	h, ff, hd := cfg.Hidden, cfg.Intermediate, cfg.HeadDim
	q, kv := cfg.Heads*hd, cfg.KVHeads*hd
	norm := func(name string, n int) []float32 { return g.normal(name, n, 1, 0.1) }
	d := &reference.Decoder{
		DecoderConfig: reference.DecoderConfig{
			HiddenSize: h, Heads: cfg.Heads, KVHeads: cfg.KVHeads, HeadDim: hd, Layers: cfg.Layers, Intermediate: ff,
			MaxPositions: cfg.MaxPositions, RopeTheta: cfg.RopeTheta, RMSNormEps: cfg.RMSNormEps,
		},
		Embeddings: g.matrix("embed_tokens", len(Qwen3Vocab()), h),
		Norm:       norm("norm.weight", h),
	}
	for i := range cfg.Layers {
		p := fmt.Sprintf("layers.%d.", i)
		d.Layers = append(d.Layers, reference.DecoderLayer{
			AttentionNorm: norm(p+"input_layernorm.weight", h),
			Query:         g.matrix(p+"self_attn.q_proj", q, h),
			Key:           g.matrix(p+"self_attn.k_proj", kv, h),
			Value:         g.matrix(p+"self_attn.v_proj", kv, h),
			Output:        g.matrix(p+"self_attn.o_proj", h, q),
			QueryNorm:     norm(p+"self_attn.q_norm.weight", hd),
			KeyNorm:       norm(p+"self_attn.k_norm.weight", hd),
			MLPNorm:       norm(p+"post_attention_layernorm.weight", h),
			Gate:          g.matrix(p+"mlp.gate_proj", ff, h),
			Up:            g.matrix(p+"mlp.up_proj", ff, h),
			Down:          g.matrix(p+"mlp.down_proj", h, ff),
		})
	}
	m := &reference.Qwen3{Decoder: d, LMHead: d.Embeddings}
	if cfg.Reranker && !cfg.Tied {
		m.LMHead = g.matrix("lm_head", len(Qwen3Vocab()), h)
	}
	return m
}

func (c Qwen3Config) validate() error {
	if err := c.MistralConfig.validate(); err != nil {
		return err
	}
	if c.HeadDim < 2 || c.HeadDim%2 != 0 {
		return fmt.Errorf("head dim %d must be positive and even", c.HeadDim)
	}
	if c.Tied && !c.Reranker {
		return fmt.Errorf("only the reranker layout has a head to tie")
	}
	return nil
}

// Qwen3EmbeddingIDs are the ids Qwen3-Embedding reads for text: its
// tokens, then <|endoftext|>, which the card appends and pools.
func Qwen3EmbeddingIDs(text string) []int32 {
	return append(Qwen3IDs(text, false), Qwen3TokenID(qwen3EndOfText))
}

// Qwen3RerankIDs are the ids Qwen3-Reranker reads for one pair, tokenized
// as its model card does: the prefix, the formatted pair and the suffix
// each on their own, the pair's text without special tokens.
func Qwen3RerankIDs(instruction, query, doc string) []int32 {
	ids := Qwen3IDs(Qwen3RerankPrefix, true)
	ids = append(ids, Qwen3IDs("<Instruct>: "+instruction+"\n<Query>: "+query+"\n<Document>: "+doc, false)...)
	return append(ids, Qwen3IDs(Qwen3RerankSuffix, true)...)
}

// WriteQwen3HF writes m as the Qwen3 checkpoints are laid out: config.json
// (Qwen3ForCausalLM), model.safetensors, Qwen3's tokenizer files and, for
// an embedder, the sentence-transformers files of a last-token,
// normalized model with the card's query prompt.
func WriteQwen3HF(dir string, m *reference.Qwen3, cfg Qwen3Config) error {
	if err := writeQwen3HF(dir, m, cfg); err != nil {
		return fmt.Errorf("testmodel: %w", err)
	}
	return nil
}

func writeQwen3HF(dir string, m *reference.Qwen3, cfg Qwen3Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if !cfg.Reranker {
		if err := os.Mkdir(filepath.Join(dir, "1_Pooling"), 0o755); err != nil {
			return err
		}
	}
	d := m.Decoder
	eot := int(Qwen3TokenID(qwen3EndOfText))
	decoder := map[string]any{}
	for i, a := range qwen3Added {
		id := len(Qwen3Vocab()) - len(qwen3Added) + i
		t := added(id, a.text)
		t["special"] = a.special
		decoder[fmt.Sprint(id)] = t
	}
	files := map[string]any{
		"config.json": map[string]any{
			"architectures": []string{"Qwen3ForCausalLM"}, "model_type": "qwen3",
			"hidden_size": d.HiddenSize, "num_hidden_layers": len(d.Layers), "num_attention_heads": d.Heads,
			"num_key_value_heads": d.KVHeads, "head_dim": d.HeadDim, "intermediate_size": d.Intermediate,
			"hidden_act": "silu", "max_position_embeddings": d.MaxPositions, "rope_theta": d.RopeTheta,
			"rms_norm_eps": d.RMSNormEps, "rope_scaling": nil, "attention_bias": false, "attention_dropout": 0.0,
			"sliding_window": nil, "use_sliding_window": false, "max_window_layers": len(d.Layers),
			"tie_word_embeddings": !cfg.Reranker || cfg.Tied, "vocab_size": d.Embeddings.Rows,
			"bos_token_id": eot, "eos_token_id": eot, "initializer_range": cfg.InitStd,
			"torch_dtype": "float32", "use_cache": true, "transformers_version": "4.51.3",
		},
		"tokenizer.json": qwen3TokenizerJSON(),
		"tokenizer_config.json": map[string]any{
			"tokenizer_class": "Qwen2Tokenizer", "add_bos_token": false, "add_prefix_space": false,
			"bos_token": nil, "eos_token": "<|im_end|>", "pad_token": qwen3EndOfText, "unk_token": nil,
			"errors": "replace", "model_max_length": 131072, "split_special_tokens": false,
			"added_tokens_decoder": decoder,
		},
	}
	if !cfg.Reranker {
		files["modules.json"] = []any{
			map[string]any{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
			map[string]any{"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
			map[string]any{"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
		}
		files["1_Pooling/config.json"] = map[string]any{
			"word_embedding_dimension": d.HiddenSize, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": false,
			"pooling_mode_max_tokens": false, "pooling_mode_mean_sqrt_len_tokens": false,
			"pooling_mode_weightedmean_tokens": false, "pooling_mode_lasttoken": true, "include_prompt": true,
		}
		files["config_sentence_transformers.json"] = map[string]any{
			"prompts": map[string]string{"query": Qwen3QueryPrompt, "document": ""}, "default_prompt_name": nil,
			"similarity_fn_name": "cosine",
		}
	}
	for name, v := range files {
		if err := writeJSON(filepath.Join(dir, name), v); err != nil {
			return err
		}
	}
	return checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), qwen3Tensors(m, cfg), map[string]string{"format": "pt"})
}

// qwen3Tensors lays m out under modeling_qwen3.py's names: Qwen3Model's
// for the embedder (no prefix, no head), Qwen3ForCausalLM's for the
// reranker ("model." and lm_head, which a tied checkpoint leaves out).
func qwen3Tensors(m *reference.Qwen3, cfg Qwen3Config) []checkpoint.NamedTensor {
	prefix := ""
	if cfg.Reranker {
		prefix = "model."
	}
	ts := mistralTensors(m.Decoder)
	for i := range ts {
		ts[i].Name = prefix + ts[i].Name
	}
	vector := func(name string, v []float32) {
		ts = append(ts, checkpoint.NamedTensor{Name: name, Shape: []int64{int64(len(v))}, DType: checkpoint.F32, Data: checkpoint.F32Bytes(v)})
	}
	for i, l := range m.Layers {
		vector(fmt.Sprintf("%slayers.%d.self_attn.q_norm.weight", prefix, i), l.QueryNorm)
		vector(fmt.Sprintf("%slayers.%d.self_attn.k_norm.weight", prefix, i), l.KeyNorm)
	}
	if cfg.Reranker && !cfg.Tied {
		h := m.LMHead
		ts = append(ts, checkpoint.NamedTensor{Name: "lm_head.weight", Shape: []int64{int64(h.Rows), int64(h.Cols)},
			DType: checkpoint.F32, Data: checkpoint.F32Bytes(h.Data)})
	}
	return ts
}
