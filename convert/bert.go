package convert

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
	"github.com/rerank-api/rerank-api/convert/segments"
	"github.com/rerank-api/rerank-api/convert/vocab"
)

// bertFamily converts BERT, RoBERTa/XLM-RoBERTa and LUKE encoders (with or
// without a sequence-classification head) onto llama.cpp's "bert"
// architecture, which they all share once positions and heads are mapped.
type bertFamily struct {
	*job
	prefix     string // "bert.", "roberta.", "luke." or "" before encoder tensor names
	classifier bool
	roberta    bool // RoBERTa-style: positions offset by pad+1, classifier.dense/out_proj head
	// positionOffset is how many leading rows of the position table are
	// never used: RoBERTa counts positions from pad_token_id+1, llama.cpp
	// from 0 (DESIGN.md §2).
	positionOffset int
	labels         []string
	pooling        string
	missing        error // the first tensor not found with the expected shape
}

func newBERT(j *job) (converter, error) {
	b := &bertFamily{job: j}
	switch j.arch {
	case "BertForSequenceClassification", "XLMRobertaForSequenceClassification", "RobertaForSequenceClassification":
		b.classifier = true
	}
	switch j.arch {
	case "XLMRobertaModel", "XLMRobertaForSequenceClassification", "RobertaModel", "RobertaForSequenceClassification", "LukeModel":
		// LUKE's word embeddings are RoBERTa's: positions from padding_idx+1.
		b.roberta = true
		pad := 1
		if j.config.PadTokenID != nil {
			pad = *j.config.PadTokenID
		}
		b.positionOffset = pad + 1
	}
	for _, p := range []string{"bert.", "roberta.", "luke."} {
		if _, ok := j.ckpt.Info(p + "embeddings.word_embeddings.weight"); ok {
			b.prefix = p
		}
	}
	if _, ok := j.ckpt.Info(b.prefix + "embeddings.word_embeddings.weight"); !ok {
		return nil, fmt.Errorf("%s checkpoint has no embeddings.word_embeddings.weight (with or without a bert./roberta. prefix)", j.arch)
	}
	if j.arch == "LukeModel" {
		for _, t := range j.ckpt.Tensors() {
			if strings.HasPrefix(t.Name, "entity_embeddings.") {
				j.warn("LUKE entity embeddings are dropped: only word inputs are served")
				break
			}
		}
	}
	if b.classifier {
		b.pooling = "rank"
		out := "classifier.weight"
		if b.roberta {
			out = "classifier.out_proj.weight"
		}
		// The head's rows are the truth: transformers defaults num_labels to
		// 2 and many configs leave it out.
		rows := 0
		if info, ok := j.ckpt.Info(out); ok && len(info.Shape) == 2 {
			rows = int(info.Shape[0])
		}
		b.labels = labelsOf(j.config, rows)
	} else {
		b.pooling = j.st.Pooling
		if b.pooling == "" {
			b.pooling = "cls"
			j.warn("no sentence-transformers pooling config (1_Pooling/config.json); using CLS pooling — set pooling in the catalog if the model card says otherwise")
		}
	}
	return b, nil
}

func labelsOf(cfg *hfConfig, rows int) []string {
	n := max(cfg.NumLabels, len(cfg.ID2Label), 1)
	if rows > 0 {
		n = rows
	}
	labels := make([]string, n)
	for i := range labels {
		labels[i] = cfg.ID2Label[strconv.Itoa(i)]
		if labels[i] == "" {
			labels[i] = fmt.Sprintf("LABEL_%d", i)
		}
	}
	return labels
}

// llama.cpp's pooling_type values.
var poolingTypes = map[string]uint32{"mean": 1, "cls": 2, "last": 3, "rank": 4}

func (b *bertFamily) write(w *gguf.Writer, typ gguf.TensorType) error {
	cfg := b.config
	hidden := cfg.HiddenSize
	words, ok := b.ckpt.Info(b.prefix + "embeddings.word_embeddings.weight")
	if !ok || len(words.Shape) != 2 || int(words.Shape[1]) != hidden {
		return fmt.Errorf("word embeddings shape %v does not match hidden_size %d", words.Shape, hidden)
	}
	nVocab := int(words.Shape[0])
	positions, ok := b.ckpt.Info(b.prefix + "embeddings.position_embeddings.weight")
	if !ok {
		return fmt.Errorf("%s: no position embeddings; only absolute-position BERT models map onto llama.cpp's bert", b.arch)
	}
	nCtx := int(positions.Shape[0]) - b.positionOffset
	if nCtx < 1 {
		return fmt.Errorf("position table has %d rows, fewer than the offset %d", positions.Shape[0], b.positionOffset)
	}

	v, err := vocab.FromDir(b.dir)
	if err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	for _, msg := range v.Warnings {
		b.warn("%s", msg)
	}
	if len(v.Tokens) > nVocab {
		return fmt.Errorf("tokenizer has %d tokens but the embedding table only %d rows", len(v.Tokens), nVocab)
	}
	// Some checkpoints pad the embedding table past the tokenizer (to a
	// multiple of 8 or 64); llama.cpp needs one token per row.
	v.PadTo(nVocab)

	typeRows := max(cfg.TypeVocabSize, 1)
	// Segment B of a cross-encoder pair is token type 1; the other rows of
	// larger type tables (some checkpoints have 16) are never used.
	exactTypes := b.classifier && typeRows >= 2
	if exactTypes {
		if v.Tokens, v.Types, err = segments.ExtendVocab(v.Tokens, v.Types); err != nil {
			return err
		}
		for range len(v.Scores) {
			// Far below any real piece, so a unigram tokenizer never picks
			// a copy (segments.ExtendVocab).
			v.Scores = append(v.Scores, -1e9)
		}
		w.AddKV(segments.OffsetKey, uint32(nVocab))
	}

	fileType := map[gguf.TensorType]uint32{gguf.TensorF32: 0, gguf.TensorF16: 1, gguf.TensorBF16: 32}[typ]
	w.AddKV("general.architecture", "bert")
	w.AddKV("general.name", filepath.Base(filepath.Clean(b.dir)))
	w.AddKV("general.file_type", fileType)
	w.AddKV("bert.context_length", uint32(nCtx))
	w.AddKV("bert.embedding_length", uint32(hidden))
	w.AddKV("bert.feed_forward_length", uint32(cfg.IntermediateSize))
	w.AddKV("bert.block_count", uint32(cfg.NumHiddenLayers))
	w.AddKV("bert.attention.head_count", uint32(cfg.NumAttentionHeads))
	w.AddKV("bert.attention.layer_norm_epsilon", float32(orDefault(cfg.LayerNormEps, 1e-12)))
	w.AddKV("bert.attention.causal", false)
	w.AddKV("bert.pooling_type", poolingTypes[b.pooling])
	if b.classifier {
		w.AddKV("bert.classifier.output_labels", b.labels)
		w.AddKV(keys.ScoreActivation, cfg.scoreActivation(len(b.labels)))
	}
	if err := v.WriteGGUF(w); err != nil {
		return err
	}
	w.AddKV("tokenizer.ggml.token_type_count", uint32(typeRows))
	b.writeServingMetadata(w)

	// Tensors, in llama.cpp's order.
	embd := b.prefix + "embeddings."
	if exactTypes {
		w.AddTensorFunc("token_embd.weight", []uint64{uint64(hidden), uint64(2 * nVocab)}, typ, func() ([]float32, error) {
			tok, err := b.ckpt.Float32(embd + "word_embeddings.weight")
			if err != nil {
				return nil, err
			}
			types, err := b.ckpt.Float32(embd + "token_type_embeddings.weight")
			if err != nil {
				return nil, err
			}
			return segments.ExtendEmbeddings(tok, types, hidden, nVocab)
		})
	} else {
		b.matrix(w, "token_embd.weight", embd+"word_embeddings.weight", typ)
	}
	if _, ok := b.ckpt.Info(embd + "token_type_embeddings.weight"); ok {
		b.matrix(w, "token_types.weight", embd+"token_type_embeddings.weight", gguf.TensorF32)
	} else {
		return fmt.Errorf("no token_type_embeddings: llama.cpp's bert needs them")
	}
	offset := b.positionOffset * hidden
	w.AddTensorFunc("position_embd.weight", []uint64{uint64(hidden), uint64(nCtx)}, gguf.TensorF32, func() ([]float32, error) {
		all, err := b.ckpt.Float32(embd + "position_embeddings.weight")
		if err != nil {
			return nil, err
		}
		return all[offset:], nil
	})
	b.vector(w, "token_embd_norm.weight", embd+"LayerNorm.weight")
	b.vector(w, "token_embd_norm.bias", embd+"LayerNorm.bias")
	for i := range cfg.NumHiddenLayers {
		hf := fmt.Sprintf("%sencoder.layer.%d.", b.prefix, i)
		blk := fmt.Sprintf("blk.%d.", i)
		for _, m := range []struct{ gguf, hf string }{
			{"attn_q", "attention.self.query"},
			{"attn_k", "attention.self.key"},
			{"attn_v", "attention.self.value"},
			{"attn_output", "attention.output.dense"},
			{"attn_output_norm", "attention.output.LayerNorm"},
			{"ffn_up", "intermediate.dense"},
			{"ffn_down", "output.dense"},
			{"layer_output_norm", "output.LayerNorm"},
		} {
			if strings.HasSuffix(m.gguf, "_norm") {
				b.vector(w, blk+m.gguf+".weight", hf+m.hf+".weight")
			} else {
				b.matrix(w, blk+m.gguf+".weight", hf+m.hf+".weight", typ)
			}
			b.vector(w, blk+m.gguf+".bias", hf+m.hf+".bias")
		}
	}
	if b.classifier {
		// llama.cpp's rank head is out(tanh(cls(h_[CLS]))): BERT's pooler
		// followed by its classifier, or RoBERTa's classification head.
		dense, out := "bert.pooler.dense", "classifier"
		if b.roberta {
			dense, out = "classifier.dense", "classifier.out_proj"
		} else if b.prefix == "" {
			dense = "pooler.dense"
		}
		if _, ok := b.ckpt.Info(dense + ".weight"); !ok {
			return fmt.Errorf("%s has no %s: the classifier head needs it", b.arch, dense)
		}
		b.matrix(w, "cls.weight", dense+".weight", typ)
		b.vector(w, "cls.bias", dense+".bias")
		b.matrix(w, "cls.output.weight", out+".weight", typ)
		b.vector(w, "cls.output.bias", out+".bias")
	}
	if b.missing != nil {
		return b.missing
	}
	return w.Err()
}

// writeServingMetadata records the sentence-transformers settings and the
// tokenizer class the engine needs.
func (b *bertFamily) writeServingMetadata(w *gguf.Writer) {
	w.AddKV(keys.SourceArchitecture, b.arch)
	if !b.classifier {
		w.AddKV(keys.Normalize, b.st.Normalize)
	}
	if b.st.MaxSeqLength > 0 {
		w.AddKV(keys.MaxLength, uint32(b.st.MaxSeqLength))
	}
	if b.st.QueryPrompt != "" {
		w.AddKV(keys.QueryPrefix, b.st.QueryPrompt)
	}
	if b.st.DocumentPrompt != "" {
		w.AddKV(keys.DocumentPrefix, b.st.DocumentPrompt)
	}
	raw, err := os.ReadFile(filepath.Join(b.dir, "tokenizer_config.json"))
	if err != nil {
		return
	}
	var tc struct {
		TokenizerClass string `json:"tokenizer_class"`
	}
	if json.Unmarshal(raw, &tc) == nil && tc.TokenizerClass == "BertJapaneseTokenizer" {
		w.AddKV(keys.TokenizerClass, tc.TokenizerClass)
		w.AddKV(keys.TokenizerConfig, string(raw))
		b.warn("BertJapaneseTokenizer: llama.cpp cannot tokenize this model; rerank-api tokenizes it with MeCab + WordPiece at run time")
	}
}

// matrix adds a 2-D tensor, HF [out, in] = GGML ne {in, out}.
func (b *bertFamily) matrix(w *gguf.Writer, name, hfName string, typ gguf.TensorType) {
	if info, ok := b.source(hfName, 2); ok {
		ne := []uint64{uint64(info.Shape[1]), uint64(info.Shape[0])}
		w.AddTensorFunc(name, ne, typ, func() ([]float32, error) { return b.ckpt.Float32(hfName) })
	}
}

// vector adds a 1-D tensor; norms and biases stay f32 as llama.cpp expects.
func (b *bertFamily) vector(w *gguf.Writer, name, hfName string) {
	if info, ok := b.source(hfName, 1); ok {
		w.AddTensorFunc(name, []uint64{uint64(info.Shape[0])}, gguf.TensorF32, func() ([]float32, error) { return b.ckpt.Float32(hfName) })
	}
}

// source finds a checkpoint tensor of the given rank, or records why not.
func (b *bertFamily) source(hfName string, dims int) (checkpoint.TensorInfo, bool) {
	info, ok := b.ckpt.Info(hfName)
	if ok && len(info.Shape) == dims {
		return info, true
	}
	if b.missing == nil {
		if ok {
			b.missing = fmt.Errorf("tensor %s has shape %v, want %d dimensions", hfName, info.Shape, dims)
		} else {
			b.missing = fmt.Errorf("the checkpoint has no tensor %s, which %s needs", hfName, b.arch)
		}
	}
	return info, false
}

func orDefault(v, d float64) float64 {
	if v == 0 {
		return d
	}
	return v
}
