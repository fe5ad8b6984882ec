package testmodel

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/internal/reference"
)

// WriteXLMRFlashHF writes w as jina-reranker-v2-base-multilingual's
// directory is laid out: a config.json that declares
// XLMRobertaForSequenceClassification (or XLMRobertaModel without a
// classifier) through auto_map to jinaai/xlm-roberta-flash-implementation,
// with no model_type, and model.safetensors under that implementation's
// flash-attn tensor names, in dtype (F32, F16 or BF16; "" is F32). The
// tokenizer is XLM-R's Unigram tokenizer.json when cfg.Tokenizer is "ugm",
// BERT's WordPiece files otherwise.
func WriteXLMRFlashHF(dir string, w *reference.Weights, cfg Config, dtype checkpoint.DType) error {
	if err := writeXLMRFlashHF(dir, w, cfg, dtype); err != nil {
		return fmt.Errorf("testmodel: %w", err)
	}
	return nil
}

func writeXLMRFlashHF(dir string, w *reference.Weights, cfg Config, dtype checkpoint.DType) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	encode, ok := map[checkpoint.DType]func([]float32) []byte{
		"": checkpoint.F32Bytes, checkpoint.F32: checkpoint.F32Bytes, checkpoint.F16: checkpoint.F16Bytes, checkpoint.BF16: checkpoint.BF16Bytes,
	}[dtype]
	switch {
	case !ok:
		return fmt.Errorf("dtype %q: want F32, F16 or BF16", dtype)
	case len(cfg.vocab()) != w.VocabSize():
		return fmt.Errorf("vocabulary has %d tokens, weights %d", len(cfg.vocab()), w.VocabSize())
	case (w.Pooler == nil) != (w.Classifier == nil):
		return fmt.Errorf("the flash classification head needs both a pooler (classifier.dense) and a classifier (classifier.out_proj)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "config.json"), xlmrFlashConfig(w, cfg)); err != nil {
		return err
	}
	var tensors []checkpoint.NamedTensor
	for _, t := range xlmrFlashTensors(w, cfg) {
		tensors = append(tensors, checkpoint.NamedTensor{Name: t.name, Shape: t.shape, DType: orF32(dtype), Data: encode(t.data)})
	}
	if err := checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), tensors, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	if cfg.Tokenizer == "ugm" {
		return writeXLMRUnigram(dir, cfg)
	}
	return writeWordPiece(dir, cfg)
}

func orF32(d checkpoint.DType) checkpoint.DType {
	if d == "" {
		return checkpoint.F32
	}
	return d
}

// xlmrFlashConfig is jina-reranker-v2's config.json with w's shape.
func xlmrFlashConfig(w *reference.Weights, cfg Config) map[string]any {
	const impl = "jinaai/xlm-roberta-flash-implementation--"
	arch, auto := "XLMRobertaModel", "AutoModel"
	if w.Classifier != nil {
		arch, auto = "XLMRobertaForSequenceClassification", "AutoModelForSequenceClassification"
	}
	act := "gelu"
	if w.Activation != reference.GELUErf {
		act = "gelu_new"
	}
	return map[string]any{
		"architectures": []string{arch},
		"auto_map": map[string]string{
			"AutoConfig": impl + "configuration_xlm_roberta.XLMRobertaFlashConfig",
			auto:         impl + "modeling_xlm_roberta." + arch,
		},
		"hidden_size":                  w.HiddenSize,
		"num_hidden_layers":            len(w.Layers),
		"num_attention_heads":          w.Heads,
		"intermediate_size":            w.Intermediate,
		"max_position_embeddings":      w.MaxPositions + XLMRobertaPadTokenID + 1,
		"type_vocab_size":              w.TokenTypeEmbeddings.Rows,
		"layer_norm_eps":               w.LayerNormEps,
		"hidden_act":                   act,
		"vocab_size":                   w.VocabSize(),
		"pad_token_id":                 XLMRobertaPadTokenID,
		"bos_token_id":                 0,
		"eos_token_id":                 2,
		"position_embedding_type":      "absolute",
		"use_flash_attn":               true,
		"hidden_dropout_prob":          0.1,
		"attention_probs_dropout_prob": 0.1,
		"initializer_range":            cfg.initStd(),
		"torch_dtype":                  "float32",
		"transformers_version":         "4.40.2",
	}
}

// flashNames renames transformers' XLM-R tensors as the flash
// implementation's convert_roberta_weights_to_flash.py does. At one
// position the longer, earlier-starting name wins, so attention.output.*
// is matched before output.*.
var flashNames = strings.NewReplacer(
	"embeddings.LayerNorm.", "emb_ln.",
	"encoder.layer.", "encoder.layers.",
	".attention.output.dense.", ".mixer.out_proj.",
	".attention.output.LayerNorm.", ".norm1.",
	".intermediate.dense.", ".mlp.fc1.",
	".output.dense.", ".mlp.fc2.",
	".output.LayerNorm.", ".norm2.",
)

// xlmrFlashTensors is WriteHF's XLM-R checkpoint remapped to the flash
// layout, as that script remaps a transformers checkpoint: the embedding
// tables keep their names (random leading position rows included), their
// LayerNorm becomes emb_ln, each layer's query, key and value weights and
// biases are concatenated along the output dimension into mixer.Wqkv
// (torch.cat([Wq, Wk, Wv], dim=0)), and the LayerNorms after attention and
// feed-forward become norm1 and norm2.
func xlmrFlashTensors(w *reference.Weights, cfg Config) []hfTensor {
	arch := hfArchs["XLMRobertaModel"]
	if w.Classifier != nil {
		arch = hfArchs["XLMRobertaForSequenceClassification"]
	}
	var out []hfTensor
	fused := map[string]*hfTensor{} // the current layer's Wqkv, by ".weight" or ".bias"
	for _, t := range hfTensors(w, cfg, arch) {
		i := strings.Index(t.name, ".attention.self.")
		if i < 0 {
			out = append(out, hfTensor{flashNames.Replace(t.name), t.shape, t.data})
			continue
		}
		param := t.name[strings.LastIndex(t.name, "."):]
		f := fused[param]
		if f == nil {
			f = &hfTensor{name: flashNames.Replace(t.name[:i+1]) + "mixer.Wqkv" + param, shape: slices.Clone(t.shape)}
			f.shape[0] = 0
			fused[param] = f
		}
		f.shape[0] += t.shape[0]
		f.data = append(f.data, t.data...)
		if strings.HasSuffix(t.name, ".value.bias") { // the layer's last of the six
			out = append(out, *fused[".weight"], *fused[".bias"])
			clear(fused)
		}
	}
	return out
}

// writeXLMRUnigram writes cfg's vocabulary as XLM-RoBERTa's tokenizer files
// are shaped (XLMRobertaTokenizerFast): a Unigram model over the
// SentencePiece spellings of the pieces (<s> </s> <pad> <unk> <mask>,
// "▁word"), a Metaspace pre-tokenizer, the " {2,}" normalizer and
// RobertaProcessing, whose pair is "<s> A </s></s> B </s>". Every piece
// scores the same, so whole words win; XLM-R's Precompiled normalizer is
// left out (identity on the test texts).
func writeXLMRUnigram(dir string, cfg Config) error {
	vocab := cfg.vocab()
	s := findSpecials(vocab)
	if s.pad < 0 || s.mask < 0 {
		return fmt.Errorf("the XLM-R tokenizer needs [PAD] and [MASK] in the vocabulary")
	}
	pieces := make([]any, len(vocab))
	var added []map[string]any
	for i, tok := range vocab {
		piece, score := sentencePieceForm(tok), -1.0
		if isSpecial(tok) {
			score = 0
			added = append(added, map[string]any{
				"id": i, "content": piece, "single_word": false, "lstrip": tok == "[MASK]", "rstrip": false,
				"normalized": false, "special": true,
			})
		}
		pieces[i] = []any{piece, score}
	}
	tokenizer := map[string]any{
		"version": "1.0", "truncation": nil, "padding": nil,
		"added_tokens": added,
		"normalizer": map[string]any{"type": "Sequence", "normalizers": []any{
			map[string]any{"type": "Replace", "pattern": map[string]any{"Regex": " {2,}"}, "content": " "},
		}},
		"pre_tokenizer": map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
		"post_processor": map[string]any{
			"type": "RobertaProcessing", "sep": []any{"</s>", s.sep}, "cls": []any{"<s>", s.cls},
			"trim_offsets": true, "add_prefix_space": true,
		},
		"decoder": map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
		"model":   map[string]any{"type": "Unigram", "unk_id": s.unk, "vocab": pieces, "byte_fallback": false},
	}
	roles := map[string]any{
		"bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>",
		"unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>",
	}
	config := map[string]any{"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": cfg.MaxPositions, "clean_up_tokenization_spaces": true}
	for role, tok := range roles {
		config[role] = tok
	}
	for name, v := range map[string]any{"tokenizer.json": tokenizer, "special_tokens_map.json": roles, "tokenizer_config.json": config} {
		if err := writeJSON(filepath.Join(dir, name), v); err != nil {
			return err
		}
	}
	return nil
}
