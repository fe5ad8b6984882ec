package testmodel

import (
	"fmt"

	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/segments"
	"github.com/rerank-api/rerank-api/internal/reference"
)

// WriteGGUF writes w as a llama.cpp "bert" GGUF with cfg's vocabulary and
// pooling. dtype "f16" stores the 2-D weight matrices and the token
// embeddings as f16 (rounded, so the file no longer matches w exactly) and
// everything else as f32, as llama.cpp's converter does; "f32" stores all
// tensors exactly.
//
// A cross-encoder with two token types (TypeVocab 2 and a classifier, with
// the WordPiece tokenizer) gets the segment-B rows and vocabulary of
// convert/segments, as rerank-api's converter writes them: its token_embd
// has 2V rows and token V+i is token i of type 1.
func WriteGGUF(path string, w *reference.Weights, cfg Config, dtype string) error {
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("testmodel: %w", err)
	}
	matrixType, fileType := gguf.TensorF32, uint32(0) // LLAMA_FTYPE_ALL_F32
	switch dtype {
	case "f32":
	case "f16":
		matrixType, fileType = gguf.TensorF16, 1 // LLAMA_FTYPE_MOSTLY_F16
	default:
		return fmt.Errorf("testmodel: dtype %q: want f32 or f16", dtype)
	}
	if cfg.Pooling == "rank" && w.Classifier == nil {
		return fmt.Errorf("testmodel: rank pooling but the weights have no classifier")
	}
	vocab := cfg.vocab()
	if len(vocab) != w.VocabSize() {
		return fmt.Errorf("testmodel: vocabulary has %d tokens, weights %d", len(vocab), w.VocabSize())
	}

	segmented := hasSegments(w, cfg)
	out := gguf.NewWriter()
	writeHyperparameters(out, w, cfg, fileType)
	writeVocab(out, cfg, w.TokenTypeEmbeddings.Rows, segmented)

	for _, t := range tensorLayout(w) {
		typ := gguf.TensorF32
		if t.matrix {
			typ = matrixType
		}
		if segmented && t.name == "token_embd.weight" {
			data, err := segments.ExtendEmbeddings(t.data, w.TokenTypeEmbeddings.Data, w.HiddenSize, len(vocab))
			if err != nil {
				return fmt.Errorf("testmodel: %w", err)
			}
			t.data, t.ne = data, []uint64{t.ne[0], 2 * t.ne[1]}
		}
		out.AddTensor(t.name, t.ne, typ, t.data)
	}
	return out.WriteFile(path)
}

// hasSegments reports whether WriteGGUF adds segment-B rows: only a
// cross-encoder reads pairs, only a second token type needs them, and only a
// WordPiece vocabulary can hide the copies from its tokenizer.
func hasSegments(w *reference.Weights, cfg Config) bool {
	return w.Classifier != nil && w.TokenTypeEmbeddings.Rows == 2 && cfg.Tokenizer != "ugm" && !cfg.NoSegmentRows
}

// RoundToF16 rounds, in place, exactly the weights WriteGGUF stores as f16,
// so the reference computes with the values an f16 file holds.
func RoundToF16(w *reference.Weights) {
	for _, t := range tensorLayout(w) {
		if t.matrix {
			for i, x := range t.data {
				t.data[i] = gguf.Float32FromF16(gguf.F16FromFloat32(x))
			}
		}
	}
}

// ggufTensor is one tensor of the GGUF, sharing the weights' storage.
type ggufTensor struct {
	name   string
	ne     []uint64 // GGML order: HF [out, in] becomes {in, out}
	data   []float32
	matrix bool // stored as f16 in f16 files
}

// tensorLayout names every tensor as llama.cpp's bert loader expects
// (llama-arch.cpp LLM_TENSOR_NAMES, shapes from llama-model.cpp). Position
// and token-type tables are not matrices here: convert_hf_to_gguf.py keeps
// them f32 in f16 files.
func tensorLayout(w *reference.Weights) []ggufTensor {
	var ts []ggufTensor
	matrix := func(name string, m reference.Matrix, isMatrix bool) {
		ts = append(ts, ggufTensor{name + ".weight", []uint64{uint64(m.Cols), uint64(m.Rows)}, m.Data, isMatrix})
	}
	vector := func(name string, v []float32) {
		ts = append(ts, ggufTensor{name, []uint64{uint64(len(v))}, v, false})
	}
	dense := func(name string, d reference.Dense) {
		matrix(name, d.Weight, true)
		vector(name+".bias", d.Bias)
	}
	norm := func(name string, ln reference.LayerNorm) {
		vector(name+".weight", ln.Weight)
		vector(name+".bias", ln.Bias)
	}
	matrix("token_embd", w.WordEmbeddings, true)
	matrix("token_types", w.TokenTypeEmbeddings, false)
	matrix("position_embd", w.PositionEmbeddings, false)
	norm("token_embd_norm", w.EmbeddingNorm)
	for i, l := range w.Layers {
		blk := func(name string) string { return fmt.Sprintf("blk.%d.%s", i, name) }
		dense(blk("attn_q"), l.Query)
		dense(blk("attn_k"), l.Key)
		dense(blk("attn_v"), l.Value)
		dense(blk("attn_output"), l.AttentionOutput)
		norm(blk("attn_output_norm"), l.AttentionNorm)
		dense(blk("ffn_up"), l.Intermediate)
		dense(blk("ffn_down"), l.Output)
		norm(blk("layer_output_norm"), l.OutputNorm)
	}
	if w.Pooler != nil {
		dense("cls", *w.Pooler)
	}
	if w.Classifier != nil {
		dense("cls.output", *w.Classifier)
	}
	return ts
}

// writeHyperparameters writes the keys llama.cpp's bert loader reads
// (llama-model.cpp load_hparams). Their GGUF types must match exactly:
// llama.cpp refuses a uint32 key stored as int32.
func writeHyperparameters(out *gguf.Writer, w *reference.Weights, cfg Config, fileType uint32) {
	pooling, _ := cfg.poolingType() // validated
	out.AddKV("general.architecture", "bert")
	out.AddKV("general.name", fmt.Sprintf("testmodel-%d", cfg.Seed))
	out.AddKV("general.file_type", fileType)
	out.AddKV("bert.context_length", uint32(w.MaxPositions))
	out.AddKV("bert.embedding_length", uint32(w.HiddenSize))
	out.AddKV("bert.feed_forward_length", uint32(w.Intermediate))
	out.AddKV("bert.block_count", uint32(len(w.Layers)))
	out.AddKV("bert.attention.head_count", uint32(w.Heads))
	out.AddKV("bert.attention.layer_norm_epsilon", float32(w.LayerNormEps))
	out.AddKV("bert.attention.causal", false)
	out.AddKV("bert.pooling_type", pooling)
	if w.Classifier != nil {
		// llama.cpp sizes n_cls_out by the length of this array and
		// otherwise assumes 1.
		labels := make([]string, w.Classifier.Weight.Rows)
		for i := range labels {
			labels[i] = fmt.Sprintf("LABEL_%d", i)
		}
		out.AddKV("bert.classifier.output_labels", labels)
	}
}

// writeVocab writes the vocabulary with its special-token ids, as
// llama.cpp's converter does for the tokenizer cfg names.
//
// WordPiece ("bert") uses the phantom-space form; with this model type
// llama_tokenize(add_special=true) always wraps text in the bos and separator
// tokens, so bos is [CLS]; the add_* flags are written for readers that
// consult them. SentencePiece unigram ("t5", as XLM-RoBERTa) renames the
// specials <s> </s> <pad> <unk> <mask> and gives every piece the same score,
// so the tokenizer prefers whole words; XLM-R wraps text in <s> ... </s>.
func writeVocab(out *gguf.Writer, cfg Config, typeVocab int, segmented bool) {
	vocab := cfg.vocab()
	ugm := cfg.Tokenizer == "ugm"
	tokens := make([]string, len(vocab))
	types := make([]int32, len(vocab))
	for i, tok := range vocab {
		tokens[i] = phantomSpaceForm(tok)
		types[i] = 1 // LLAMA_TOKEN_TYPE_NORMAL
		if isSpecial(tok) {
			types[i] = 3 // LLAMA_TOKEN_TYPE_CONTROL
		}
		if ugm {
			tokens[i] = sentencePieceForm(tok)
			if tok == "[UNK]" {
				types[i] = 2 // LLAMA_TOKEN_TYPE_UNKNOWN, as XLM-R's converted vocabularies have
			}
		}
	}
	if segmented {
		tokens, types, _ = segments.ExtendVocab(tokens, types) // lengths match by construction
		out.AddKV(segments.OffsetKey, uint32(len(vocab)))
	}
	s := findSpecials(vocab)
	eos := int32(-1) // WordPiece has none: [SEP] ends a sequence
	if ugm {
		eos = s.sep
		scores := make([]float32, len(tokens))
		for i := range scores {
			scores[i] = -1
		}
		out.AddKV("tokenizer.ggml.model", "t5")
		out.AddKV("tokenizer.ggml.scores", scores)
		out.AddKV("tokenizer.ggml.add_space_prefix", true)
		out.AddKV("tokenizer.ggml.remove_extra_whitespaces", true)
	} else {
		out.AddKV("tokenizer.ggml.model", "bert")
	}
	out.AddKV("tokenizer.ggml.tokens", tokens)
	out.AddKV("tokenizer.ggml.token_type", types)
	// Sizes the token_types tensor; without it llama.cpp expects zero rows
	// and rejects the file.
	out.AddKV("tokenizer.ggml.token_type_count", uint32(typeVocab))
	ids := []struct {
		key string
		id  int32
	}{
		{"tokenizer.ggml.bos_token_id", s.cls},
		{"tokenizer.ggml.cls_token_id", s.cls},
		{"tokenizer.ggml.seperator_token_id", s.sep}, // llama.cpp's spelling
		{"tokenizer.ggml.unknown_token_id", s.unk},
		{"tokenizer.ggml.padding_token_id", s.pad},
		{"tokenizer.ggml.mask_token_id", s.mask},
		{"tokenizer.ggml.eos_token_id", eos},
	}
	for _, kv := range ids {
		if kv.id >= 0 {
			out.AddKV(kv.key, uint32(kv.id))
		}
	}
	out.AddKV("tokenizer.ggml.add_bos_token", true)
	out.AddKV("tokenizer.ggml.add_sep_token", !ugm)
	out.AddKV("tokenizer.ggml.add_eos_token", ugm)
}
