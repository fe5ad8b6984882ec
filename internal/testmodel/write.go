package testmodel

import (
	"fmt"

	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/internal/reference"
)

// WriteGGUF writes w as a llama.cpp "bert" GGUF with cfg's vocabulary and
// pooling. dtype "f16" stores the 2-D weight matrices and the token
// embeddings as f16 (rounded, so the file no longer matches w exactly) and
// everything else as f32, as llama.cpp's converter does; "f32" stores all
// tensors exactly.
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

	out := gguf.NewWriter()
	writeHyperparameters(out, w, cfg, fileType)
	writeVocab(out, vocab, w.TokenTypeEmbeddings.Rows)

	for _, t := range tensorLayout(w) {
		typ := gguf.TensorF32
		if t.matrix {
			typ = matrixType
		}
		out.AddTensor(t.name, t.ne, typ, t.data)
	}
	return out.WriteFile(path)
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

// writeVocab writes a WPM ("bert") vocabulary in llama.cpp's phantom-space
// form with its special-token ids. With tokenizer.ggml.model = "bert",
// llama_tokenize(add_special=true) always wraps text in the bos and
// separator tokens, so bos is [CLS]; the add_* flags are written for readers
// that consult them.
func writeVocab(out *gguf.Writer, vocab []string, typeVocab int) {
	tokens := make([]string, len(vocab))
	types := make([]int32, len(vocab))
	for i, tok := range vocab {
		tokens[i] = phantomSpaceForm(tok)
		types[i] = 1 // LLAMA_TOKEN_TYPE_NORMAL
		if isSpecial(tok) {
			types[i] = 3 // LLAMA_TOKEN_TYPE_CONTROL
		}
	}
	s := findSpecials(vocab)
	out.AddKV("tokenizer.ggml.model", "bert")
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
	}
	for _, kv := range ids {
		if kv.id >= 0 {
			out.AddKV(kv.key, uint32(kv.id))
		}
	}
	out.AddKV("tokenizer.ggml.add_bos_token", true)
	out.AddKV("tokenizer.ggml.add_sep_token", true)
	out.AddKV("tokenizer.ggml.add_eos_token", false)
}
