package testmodel

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/internal/reference"
)

// writeWeights encodes the tensors in opts.DType and writes them as
// model.safetensors, or as two shards and their index.
func writeWeights(dir string, w *reference.Weights, cfg Config, opts HFOptions, arch hfArch) error {
	dtype := opts.DType
	if dtype == "" {
		dtype = checkpoint.F32
	}
	encode := map[checkpoint.DType]func([]float32) []byte{
		checkpoint.F32: checkpoint.F32Bytes, checkpoint.F16: checkpoint.F16Bytes, checkpoint.BF16: checkpoint.BF16Bytes,
	}[dtype]
	var tensors []checkpoint.NamedTensor
	if opts.PositionIDs {
		n := w.MaxPositions + arch.positionOffset
		ids := make([]byte, 0, 8*n)
		for i := range n {
			ids = binary.LittleEndian.AppendUint64(ids, uint64(i))
		}
		tensors = append(tensors, checkpoint.NamedTensor{
			Name: arch.prefix + "embeddings.position_ids", Shape: []int64{1, int64(n)}, DType: checkpoint.I64, Data: ids,
		})
	}
	for _, t := range hfTensors(w, cfg, arch) {
		tensors = append(tensors, checkpoint.NamedTensor{Name: t.name, Shape: t.shape, DType: dtype, Data: encode(t.data)})
	}
	// transformers refuses safetensors files without format "pt".
	meta := map[string]string{"format": "pt"}
	if !opts.Sharded {
		return checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), tensors, meta)
	}
	var total int
	for _, t := range tensors {
		total += len(t.Data)
	}
	weightMap := map[string]string{}
	half := len(tensors) / 2
	for i, part := range [][]checkpoint.NamedTensor{tensors[:half], tensors[half:]} {
		file := fmt.Sprintf("model-%05d-of-00002.safetensors", i+1)
		if err := checkpoint.WriteSafetensors(filepath.Join(dir, file), part, meta); err != nil {
			return err
		}
		for _, t := range part {
			weightMap[t.Name] = file
		}
	}
	return writeJSON(filepath.Join(dir, "model.safetensors.index.json"), map[string]any{
		"metadata":   map[string]any{"total_size": total},
		"weight_map": weightMap,
	})
}

// writeSentenceTransformers writes the files sentence-transformers saves
// for a Transformer → Pooling → Normalize bi-encoder.
func writeSentenceTransformers(dir string, w *reference.Weights, cfg Config) error {
	module := func(idx int, path, kind string) map[string]any {
		return map[string]any{"idx": idx, "name": fmt.Sprint(idx), "path": path, "type": "sentence_transformers.models." + kind}
	}
	if err := writeJSON(filepath.Join(dir, "modules.json"), []any{
		module(0, "", "Transformer"), module(1, "1_Pooling", "Pooling"), module(2, "2_Normalize", "Normalize"),
	}); err != nil {
		return err
	}
	for _, sub := range []string{"1_Pooling", "2_Normalize"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
	}
	if err := writeJSON(filepath.Join(dir, "1_Pooling", "config.json"), map[string]any{
		"word_embedding_dimension":          w.HiddenSize,
		"pooling_mode_cls_token":            cfg.Pooling == "cls",
		"pooling_mode_mean_tokens":          cfg.Pooling == "mean",
		"pooling_mode_max_tokens":           false,
		"pooling_mode_mean_sqrt_len_tokens": false,
		"pooling_mode_weightedmean_tokens":  false,
		"pooling_mode_lasttoken":            false,
		"include_prompt":                    true,
	}); err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, "sentence_bert_config.json"), map[string]any{
		"max_seq_length": w.MaxPositions, "do_lower_case": false,
	})
}

// writeWordPiece writes cfg's vocabulary as BertTokenizerFast saves it:
// vocab.txt, and tokenizer.json with a lowercasing BertNormalizer, the BERT
// pre-tokenizer, a WordPiece model and [CLS] A [SEP] (B [SEP]) templates
// whose second segment has token type 1.
func writeWordPiece(dir string, cfg Config) error {
	vocab := cfg.vocab()
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(strings.Join(vocab, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	s := findSpecials(vocab)
	specials := []struct {
		role, token string
		id          int32
	}{
		{"pad_token", "[PAD]", s.pad}, {"unk_token", "[UNK]", s.unk}, {"cls_token", "[CLS]", s.cls},
		{"sep_token", "[SEP]", s.sep}, {"mask_token", "[MASK]", s.mask},
	}
	var added []map[string]any
	roles := map[string]any{}
	for _, sp := range specials {
		if sp.id < 0 {
			continue
		}
		added = append(added, map[string]any{
			"id": sp.id, "content": sp.token, "single_word": false, "lstrip": false, "rstrip": false,
			"normalized": false, "special": true,
		})
		roles[sp.role] = sp.token
	}
	ids := make(map[string]int, len(vocab))
	for i, tok := range vocab {
		ids[tok] = i
	}
	special := func(tok string, typeID int) map[string]any {
		return map[string]any{"SpecialToken": map[string]any{"id": tok, "type_id": typeID}}
	}
	sequence := func(id string, typeID int) map[string]any {
		return map[string]any{"Sequence": map[string]any{"id": id, "type_id": typeID}}
	}
	tokenizer := map[string]any{
		"version": "1.0", "truncation": nil, "padding": nil,
		"added_tokens": added,
		"normalizer": map[string]any{
			"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": nil, "lowercase": true,
		},
		"pre_tokenizer": map[string]any{"type": "BertPreTokenizer"},
		"post_processor": map[string]any{
			"type":   "TemplateProcessing",
			"single": []any{special("[CLS]", 0), sequence("A", 0), special("[SEP]", 0)},
			"pair":   []any{special("[CLS]", 0), sequence("A", 0), special("[SEP]", 0), sequence("B", 1), special("[SEP]", 1)},
			"special_tokens": map[string]any{
				"[CLS]": map[string]any{"id": "[CLS]", "ids": []int32{s.cls}, "tokens": []string{"[CLS]"}},
				"[SEP]": map[string]any{"id": "[SEP]", "ids": []int32{s.sep}, "tokens": []string{"[SEP]"}},
			},
		},
		"decoder": map[string]any{"type": "WordPiece", "prefix": "##", "cleanup": true},
		"model": map[string]any{
			"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
			"max_input_chars_per_word": 100, "vocab": ids,
		},
	}
	if err := writeJSON(filepath.Join(dir, "tokenizer.json"), tokenizer); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "special_tokens_map.json"), roles); err != nil {
		return err
	}
	config := map[string]any{
		"tokenizer_class": "BertTokenizer", "do_lower_case": true, "do_basic_tokenize": true,
		"tokenize_chinese_chars": true, "strip_accents": nil, "model_max_length": cfg.MaxPositions,
		"clean_up_tokenization_spaces": true,
	}
	for role, tok := range roles {
		config[role] = tok
	}
	return writeJSON(filepath.Join(dir, "tokenizer_config.json"), config)
}
