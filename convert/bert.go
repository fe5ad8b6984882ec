package convert

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
	"github.com/rerank-api/rerank-api/convert/segments"
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
	// from 0, so without the cut every position would be off by pad+1.
	positionOffset int
	labels         []string
	pooling        string
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
		if b.pooling == "" && j.arch == spladeArch {
			// A SPLADE model serves no dense vector: the pooling only
			// shapes llama.cpp's context.
			b.pooling = "cls"
		}
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
	nVocab, nCtx, err := b.tableSizes()
	if err != nil {
		return err
	}
	// Segment B of a cross-encoder pair is token type 1; the other rows of
	// larger type tables (some checkpoints have 16) are never used.
	exactTypes := b.classifier && cfg.TypeVocabSize >= 2
	if err := b.writeEncoderHeader(w, "bert", typ, nVocab, nCtx, exactTypes); err != nil {
		return err
	}

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
	return b.finish(w)
}

// tableSizes checks the embedding tables against config.json and returns
// the vocabulary size and the number of positions llama.cpp may use.
func (b *bertFamily) tableSizes() (nVocab, nCtx int, err error) {
	hidden := b.config.HiddenSize
	words, ok := b.ckpt.Info(b.prefix + "embeddings.word_embeddings.weight")
	if !ok || len(words.Shape) != 2 || int(words.Shape[1]) != hidden {
		return 0, 0, fmt.Errorf("word embeddings shape %v does not match hidden_size %d", words.Shape, hidden)
	}
	positions, ok := b.ckpt.Info(b.prefix + "embeddings.position_embeddings.weight")
	if !ok || len(positions.Shape) != 2 || int(positions.Shape[1]) != hidden {
		return 0, 0, fmt.Errorf("%s: no position embeddings of width %d; only absolute positions map onto llama.cpp's bert", b.arch, hidden)
	}
	nCtx = int(positions.Shape[0]) - b.positionOffset
	if nCtx < 1 {
		return 0, 0, fmt.Errorf("position table has %d rows, fewer than the offset %d", positions.Shape[0], b.positionOffset)
	}
	return int(words.Shape[0]), nCtx, nil
}

// writeEncoderHeader writes the hyperparameters, vocabulary and serving
// metadata of an encoder of llama.cpp architecture arch ("bert" or
// "jina-bert-v2") with nVocab embedding rows and nCtx trained positions.
// segmentRows doubles the vocabulary for convert/segments, so segment B of
// a cross-encoder pair can be read as token type 1.
func (b *bertFamily) writeEncoderHeader(w *gguf.Writer, arch string, typ gguf.TensorType, nVocab, nCtx int, segmentRows bool) error {
	cfg := b.config
	v, err := b.loadVocab(nVocab)
	if err != nil {
		return err
	}
	if segmentRows {
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
	b.writeGeneral(w, arch, typ)
	w.AddKV(arch+".context_length", uint32(nCtx))
	w.AddKV(arch+".embedding_length", uint32(cfg.HiddenSize))
	w.AddKV(arch+".feed_forward_length", uint32(cfg.IntermediateSize))
	w.AddKV(arch+".block_count", uint32(cfg.NumHiddenLayers))
	w.AddKV(arch+".attention.head_count", uint32(cfg.NumAttentionHeads))
	w.AddKV(arch+".attention.layer_norm_epsilon", float32(orDefault(cfg.LayerNormEps, 1e-12)))
	w.AddKV(arch+".attention.causal", false)
	w.AddKV(arch+".pooling_type", poolingTypes[b.pooling])
	if b.classifier {
		w.AddKV(arch+".classifier.output_labels", b.labels)
		w.AddKV(keys.ScoreActivation, cfg.scoreActivation(len(b.labels)))
	}
	if err := v.WriteGGUF(w); err != nil {
		return err
	}
	w.AddKV("tokenizer.ggml.token_type_count", uint32(max(cfg.TypeVocabSize, 1)))
	b.writePairTemplate(w, v.Tokens)
	b.writeServingMetadata(w, !b.classifier)
	return nil
}
