package testmodel

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/internal/reference"
)

// MistralConfig describes a random Mistral-architecture decoder, an
// e5-mistral-7b-instruct in miniature: last-token pooling over
// "<s> text </s>", normalized.
type MistralConfig struct {
	Seed         int64
	Hidden       int
	Layers       int
	Heads        int
	KVHeads      int // grouped-query attention: Heads/KVHeads query heads share one
	Intermediate int
	MaxPositions int
	RopeTheta    float64
	RMSNormEps   float64
	InitStd      float64 // standard deviation of matrices and embeddings
}

// The e5-mistral prompts WriteMistralHF puts in
// config_sentence_transformers.json, under e5-mistral's own names.
const (
	MistralQueryPrompt = "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery: "
	mistralSTSPrompt   = "Instruct: Retrieve semantically similar text.\nQuery: "
)

// TinyMistral is a small decoder that runs in milliseconds.
//
// Its weights are larger than HF's initializer (InitStd 0.1) so that
// attention is far from uniform: a model whose rotary embeddings pair the
// wrong dimensions, or whose attention is not causal, then differs from
// the reference by far more than the 2e-3 tolerance.
func TinyMistral(seed int64) MistralConfig {
	return MistralConfig{
		Seed: seed, Hidden: 64, Layers: 2, Heads: 4, KVHeads: 2, Intermediate: 128,
		MaxPositions: 64, RopeTheta: 10000, RMSNormEps: 1e-5, InitStd: 0.1,
	}
}

func (c MistralConfig) validate() error {
	switch {
	case c.Hidden < 1 || c.Layers < 1 || c.Intermediate < 1 || c.MaxPositions < 1:
		return fmt.Errorf("hidden %d, layers %d, intermediate %d and max positions %d must be positive",
			c.Hidden, c.Layers, c.Intermediate, c.MaxPositions)
	case c.Heads < 1 || c.Hidden%c.Heads != 0 || (c.Hidden/c.Heads)%2 != 0:
		return fmt.Errorf("%d heads do not split hidden size %d into heads of even size", c.Heads, c.Hidden)
	case c.KVHeads < 1 || c.Heads%c.KVHeads != 0:
		return fmt.Errorf("%d KV heads do not divide %d heads", c.KVHeads, c.Heads)
	case c.RopeTheta <= 0 || c.RMSNormEps <= 0 || c.InitStd <= 0:
		return fmt.Errorf("rope theta %v, RMS norm eps %v and init std %v must be positive", c.RopeTheta, c.RMSNormEps, c.InitStd)
	}
	return nil
}

// GenerateMistral draws random weights for cfg: matrices and embeddings
// normal with standard deviation InitStd, norm weights 1 ± 0.1. Each
// tensor has its own stream keyed by Seed and its HF name. It panics on an
// invalid MistralConfig.
func GenerateMistral(cfg MistralConfig) *reference.Decoder {
	if err := cfg.validate(); err != nil {
		panic("testmodel: " + err.Error())
	}
	g := generator{seed: cfg.Seed, std: cfg.InitStd}
	h, ff, kv := cfg.Hidden, cfg.Intermediate, cfg.Hidden/cfg.Heads*cfg.KVHeads
	norm := func(name string) []float32 { return g.normal(name, h, 1, 0.1) }
	d := &reference.Decoder{
		DecoderConfig: reference.DecoderConfig{
			HiddenSize: h, Heads: cfg.Heads, KVHeads: cfg.KVHeads, Layers: cfg.Layers, Intermediate: ff,
			MaxPositions: cfg.MaxPositions, RopeTheta: cfg.RopeTheta, RMSNormEps: cfg.RMSNormEps,
		},
		Embeddings: g.matrix("embed_tokens", len(MistralVocab()), h),
		Norm:       norm("norm.weight"),
	}
	for i := range cfg.Layers {
		p := fmt.Sprintf("layers.%d.", i)
		d.Layers = append(d.Layers, reference.DecoderLayer{
			AttentionNorm: norm(p + "input_layernorm.weight"),
			Query:         g.matrix(p+"self_attn.q_proj", h, h),
			Key:           g.matrix(p+"self_attn.k_proj", kv, h),
			Value:         g.matrix(p+"self_attn.v_proj", kv, h),
			Output:        g.matrix(p+"self_attn.o_proj", h, h),
			MLPNorm:       norm(p + "post_attention_layernorm.weight"),
			Gate:          g.matrix(p+"mlp.gate_proj", ff, h),
			Up:            g.matrix(p+"mlp.up_proj", ff, h),
			Down:          g.matrix(p+"mlp.down_proj", h, ff),
		})
	}
	return d
}

// WriteMistralHF writes d as e5-mistral-7b-instruct's directory is laid
// out: config.json (MistralModel), model.safetensors under MistralModel's
// tensor names (no "model." prefix), a Llama tokenizer.json (MistralVocab)
// whose tokenizer_config.json asks for <s> and </s> around every text, and
// the sentence-transformers files of a last-token, normalized embedder.
func WriteMistralHF(dir string, d *reference.Decoder, cfg MistralConfig) error {
	if err := writeMistralHF(dir, d, cfg); err != nil {
		return fmt.Errorf("testmodel: %w", err)
	}
	return nil
}

func writeMistralHF(dir string, d *reference.Decoder, cfg MistralConfig) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	if d.Embeddings.Rows != len(MistralVocab()) {
		return fmt.Errorf("vocabulary has %d tokens, weights %d", len(MistralVocab()), d.Embeddings.Rows)
	}
	if err := os.MkdirAll(filepath.Join(dir, "1_Pooling"), 0o755); err != nil {
		return err
	}
	files := map[string]any{
		"config.json": map[string]any{
			"architectures": []string{"MistralModel"}, "model_type": "mistral",
			"hidden_size": d.HiddenSize, "num_hidden_layers": len(d.Layers), "num_attention_heads": d.Heads,
			"num_key_value_heads": d.KVHeads, "intermediate_size": d.Intermediate, "hidden_act": "silu",
			"max_position_embeddings": d.MaxPositions, "rope_theta": d.RopeTheta, "rms_norm_eps": d.RMSNormEps,
			"sliding_window": d.MaxPositions, "vocab_size": d.Embeddings.Rows, "initializer_range": cfg.InitStd,
			"bos_token_id": mistralBOS, "eos_token_id": mistralEOS, "pad_token_id": mistralEOS,
			"tie_word_embeddings": false, "torch_dtype": "float32", "use_cache": false, "transformers_version": "4.44.2",
		},
		"tokenizer.json":          mistralTokenizerJSON(),
		"special_tokens_map.json": map[string]any{"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"},
		"tokenizer_config.json": map[string]any{
			"tokenizer_class": "LlamaTokenizer", "add_bos_token": true, "add_eos_token": true, "legacy": true,
			"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "model_max_length": d.MaxPositions,
			"added_tokens_decoder": map[string]any{"0": added(0, "<unk>"), "1": added(1, "<s>"), "2": added(2, "</s>")},
		},
		"modules.json": []any{
			map[string]any{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
			map[string]any{"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
			map[string]any{"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
		},
		"1_Pooling/config.json": map[string]any{
			"word_embedding_dimension": d.HiddenSize, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": false,
			"pooling_mode_max_tokens": false, "pooling_mode_mean_sqrt_len_tokens": false,
			"pooling_mode_weightedmean_tokens": false, "pooling_mode_lasttoken": true, "include_prompt": true,
		},
		"sentence_bert_config.json": map[string]any{"max_seq_length": d.MaxPositions, "do_lower_case": false},
		"config_sentence_transformers.json": map[string]any{
			"prompts":             map[string]string{"web_search_query": MistralQueryPrompt, "sts_query": mistralSTSPrompt},
			"default_prompt_name": nil,
		},
	}
	for name, v := range files {
		if err := writeJSON(filepath.Join(dir, name), v); err != nil {
			return err
		}
	}
	return checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), mistralTensors(d), map[string]string{"format": "pt"})
}

func added(id int, content string) map[string]any {
	return map[string]any{"id": id, "content": content, "special": true, "normalized": false, "lstrip": false, "rstrip": false, "single_word": false}
}

// mistralTensors lays d out under modeling_mistral.py's MistralModel names.
func mistralTensors(d *reference.Decoder) []checkpoint.NamedTensor {
	var ts []checkpoint.NamedTensor
	add := func(name string, shape []int64, data []float32) {
		ts = append(ts, checkpoint.NamedTensor{Name: name, Shape: shape, DType: checkpoint.F32, Data: checkpoint.F32Bytes(data)})
	}
	matrix := func(name string, m reference.Matrix) { add(name, []int64{int64(m.Rows), int64(m.Cols)}, m.Data) }
	vector := func(name string, v []float32) { add(name, []int64{int64(len(v))}, v) }
	matrix("embed_tokens.weight", d.Embeddings)
	for i, l := range d.Layers {
		p := fmt.Sprintf("layers.%d.", i)
		vector(p+"input_layernorm.weight", l.AttentionNorm)
		matrix(p+"self_attn.q_proj.weight", l.Query)
		matrix(p+"self_attn.k_proj.weight", l.Key)
		matrix(p+"self_attn.v_proj.weight", l.Value)
		matrix(p+"self_attn.o_proj.weight", l.Output)
		vector(p+"post_attention_layernorm.weight", l.MLPNorm)
		matrix(p+"mlp.gate_proj.weight", l.Gate)
		matrix(p+"mlp.up_proj.weight", l.Up)
		matrix(p+"mlp.down_proj.weight", l.Down)
	}
	vector("norm.weight", d.Norm)
	return ts
}

// Llama's special ids: <unk> <s> </s>, then the 256 byte pieces.
const (
	mistralBOS int32 = 1
	mistralEOS int32 = 2
)

// MistralVocab returns the SentencePiece BPE vocabulary of the Mistral test
// models, laid out as Llama's: <unk> <s> </s>, the byte pieces <0x00> to
// <0xFF>, "▁" and the letters, then "▁" followed by every prefix of every
// default vocabulary word, shortest first. Each piece of n letters is the
// merge of its first n-1 and its last, so BPE (HF's by merge rank and
// llama.cpp's by score alike) turns each word into its one "▁word" piece,
// and ExpectedMistralIDs can predict ids without a tokenizer.
func MistralVocab() []string {
	vocab := []string{"<unk>", "<s>", "</s>"}
	for b := range 256 {
		vocab = append(vocab, fmt.Sprintf("<0x%02X>", b))
	}
	seen := map[string]bool{"▁": true}
	var letters, pieces []string
	maxLen := 0
	for _, word := range mistralWords() {
		for _, r := range word {
			if !seen[string(r)] {
				seen[string(r)] = true
				letters = append(letters, string(r))
			}
		}
		maxLen = max(maxLen, len(word))
	}
	for n := 1; n <= maxLen; n++ {
		for _, word := range mistralWords() {
			if len(word) >= n && !seen["▁"+word[:n]] {
				seen["▁"+word[:n]] = true
				pieces = append(pieces, "▁"+word[:n])
			}
		}
	}
	vocab = append(vocab, "▁")
	return append(append(vocab, letters...), pieces...)
}

// mistralWords are the default vocabulary's whole words (ASCII letters).
func mistralWords() []string {
	var words []string
	for _, tok := range DefaultVocab() {
		if !isSpecial(tok) && !strings.HasPrefix(tok, "##") {
			words = append(words, tok)
		}
	}
	return words
}

// ExpectedMistralIDs tokenizes text as the tokenizer WriteMistralHF writes
// does, for texts whose words are pieces of MistralVocab without their
// "▁" (every default word is, and so is every prefix of one, such as "a"):
// <s>, each word's piece, </s>. It panics on any other word.
func ExpectedMistralIDs(text string) []int32 {
	index := map[string]int32{}
	for i, piece := range MistralVocab() {
		index[piece] = int32(i)
	}
	ids := []int32{mistralBOS}
	for _, word := range strings.Fields(text) {
		id, ok := index["▁"+word]
		if !ok {
			panic(fmt.Sprintf("testmodel: %q is not a piece of the Mistral vocabulary", word))
		}
		ids = append(ids, id)
	}
	return append(ids, mistralEOS)
}

// mistralTokenizerJSON is tokenizer.json as Mistral-7B's (and
// e5-mistral's) is shaped: a BPE model with byte fallback, "▁" put in by
// the normalizer, and a post-processor that adds only <s>; </s> comes from
// tokenizer_config.json's add_eos_token, as transformers' LlamaTokenizer
// rebuilds its post-processor from it.
func mistralTokenizerJSON() map[string]any {
	vocab := MistralVocab()
	ids := make(map[string]int, len(vocab))
	var merges []string
	for i, piece := range vocab {
		ids[piece] = i
		if r := []rune(piece); len(r) > 1 && r[0] == '▁' {
			merges = append(merges, string(r[:len(r)-1])+" "+string(r[len(r)-1]))
		}
	}
	addedTokens := []any{added(0, "<unk>"), added(1, "<s>"), added(2, "</s>")}
	return map[string]any{
		"version": "1.0", "truncation": nil, "padding": nil, "added_tokens": addedTokens,
		"normalizer": map[string]any{"type": "Sequence", "normalizers": []any{
			map[string]any{"type": "Prepend", "prepend": "▁"},
			map[string]any{"type": "Replace", "pattern": map[string]any{"String": " "}, "content": "▁"},
		}},
		"pre_tokenizer": nil,
		"post_processor": map[string]any{
			"type": "TemplateProcessing",
			"single": []any{
				map[string]any{"SpecialToken": map[string]any{"id": "<s>", "type_id": 0}},
				map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}},
			},
			"special_tokens": map[string]any{"<s>": map[string]any{"id": "<s>", "ids": []int32{mistralBOS}, "tokens": []string{"<s>"}}},
		},
		"decoder": map[string]any{"type": "Sequence", "decoders": []any{
			map[string]any{"type": "Replace", "pattern": map[string]any{"String": "▁"}, "content": " "},
			map[string]any{"type": "ByteFallback"}, map[string]any{"type": "Fuse"},
			map[string]any{"type": "Strip", "content": " ", "start": 1, "stop": 0},
		}},
		"model": map[string]any{
			"type": "BPE", "dropout": nil, "unk_token": "<unk>", "continuing_subword_prefix": nil,
			"end_of_word_suffix": nil, "fuse_unk": true, "byte_fallback": true, "vocab": ids, "merges": merges,
		},
	}
}
