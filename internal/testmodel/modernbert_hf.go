package testmodel

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/internal/reference"
)

// WriteModernBERTHF writes m as a Hugging Face directory laid out as
// transformers saves ModernBertModel (ruri-v3: tensors without a prefix,
// plus the sentence-transformers files of a cfg.Pooling embedder with
// ruri-v3's prompts) or ModernBertForSequenceClassification (tensors under
// "model.", then head.* and classifier.*), f32 safetensors, with cfg's
// vocabulary as a SentencePiece Unigram tokenizer.json that wraps text in
// <s> ... </s>.
func WriteModernBERTHF(dir string, m *reference.ModernBERT, cfg ModernBERTConfig) error {
	if err := writeModernBERTHF(dir, m, cfg); err != nil {
		return fmt.Errorf("testmodel: %w", err)
	}
	return nil
}

// RuriV3Prompts are cl-nagoya/ruri-v3's sentence-transformers prompts
// (config_sentence_transformers.json), which WriteModernBERTHF writes.
var RuriV3Prompts = map[string]string{
	"query": "検索クエリ: ", "document": "検索文書: ", "retrieval": "検索クエリ: ",
	"topic": "トピック: ", "semantic": "",
}

func writeModernBERTHF(dir string, m *reference.ModernBERT, cfg ModernBERTConfig) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	if len(cfg.vocab()) != m.VocabSize() {
		return fmt.Errorf("vocabulary has %d tokens, weights %d", len(cfg.vocab()), m.VocabSize())
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "config.json"), modernBERTConfig(m, cfg)); err != nil {
		return err
	}
	var ts []checkpoint.NamedTensor
	add := func(name string, shape []int64, data []float32) {
		ts = append(ts, checkpoint.NamedTensor{Name: name, Shape: shape, DType: checkpoint.F32, Data: checkpoint.F32Bytes(data)})
	}
	dense := func(name string, d reference.Dense) {
		add(name+".weight", []int64{int64(d.Weight.Rows), int64(d.Weight.Cols)}, d.Weight.Data)
		if d.Bias != nil {
			add(name+".bias", []int64{int64(len(d.Bias))}, d.Bias)
		}
	}
	norm := func(name string, ln reference.LayerNorm) {
		add(name+".weight", []int64{int64(len(ln.Weight))}, ln.Weight)
		if ln.Bias != nil {
			add(name+".bias", []int64{int64(len(ln.Bias))}, ln.Bias)
		}
	}
	p := ""
	if m.Classifier != nil {
		p = "model."
	}
	add(p+"embeddings.tok_embeddings.weight", []int64{int64(m.Embeddings.Rows), int64(m.Embeddings.Cols)}, m.Embeddings.Data)
	norm(p+"embeddings.norm", m.EmbeddingNorm)
	for i, l := range m.Layers {
		pl := fmt.Sprintf("%slayers.%d.", p, i)
		if l.AttnNorm != nil {
			norm(pl+"attn_norm", *l.AttnNorm)
		}
		dense(pl+"attn.Wqkv", l.Wqkv)
		dense(pl+"attn.Wo", l.Wo)
		norm(pl+"mlp_norm", l.MLPNorm)
		dense(pl+"mlp.Wi", l.Wi)
		dense(pl+"mlp.Wo", l.MLPOut)
	}
	norm(p+"final_norm", m.FinalNorm)
	if m.Classifier != nil {
		dense("head.dense", *m.HeadDense)
		norm("head.norm", *m.HeadNorm)
		dense("classifier", *m.Classifier)
	}
	if err := checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), ts, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	if m.Classifier == nil {
		if err := writeSentenceTransformers(dir, &reference.Weights{Config: reference.Config{HiddenSize: m.HiddenSize, MaxPositions: m.MaxPositions}}, cfg.Config); err != nil {
			return err
		}
		if err := writeJSON(filepath.Join(dir, "config_sentence_transformers.json"), map[string]any{
			"prompts": RuriV3Prompts, "default_prompt_name": nil, "similarity_fn_name": "cosine",
		}); err != nil {
			return err
		}
	}
	return writeXLMRUnigram(dir, cfg.Config)
}

// modernBERTConfig is config.json as transformers 4.48 saves a
// ModernBertConfig.
func modernBERTConfig(m *reference.ModernBERT, cfg ModernBERTConfig) map[string]any {
	arch := "ModernBertModel"
	if m.Classifier != nil {
		arch = "ModernBertForSequenceClassification"
	}
	s := findSpecials(cfg.vocab())
	c := map[string]any{
		"architectures":              []string{arch},
		"model_type":                 "modernbert",
		"vocab_size":                 m.VocabSize(),
		"hidden_size":                m.HiddenSize,
		"intermediate_size":          m.Intermediate,
		"num_hidden_layers":          len(m.Layers),
		"num_attention_heads":        m.Heads,
		"hidden_activation":          "gelu",
		"max_position_embeddings":    m.MaxPositions,
		"initializer_range":          cfg.initStd(),
		"norm_eps":                   m.NormEps,
		"norm_bias":                  cfg.Bias,
		"attention_bias":             cfg.Bias,
		"mlp_bias":                   cfg.Bias,
		"classifier_bias":            cfg.Bias,
		"classifier_activation":      "gelu",
		"classifier_pooling":         map[bool]string{true: "mean", false: "cls"}[cfg.ClassifierPooling == "mean"],
		"global_attn_every_n_layers": m.GlobalEvery,
		"local_attention":            m.LocalAttention,
		"global_rope_theta":          m.GlobalTheta,
		"local_rope_theta":           m.LocalTheta,
		"pad_token_id":               s.pad,
		"bos_token_id":               s.cls,
		"eos_token_id":               s.sep,
		"cls_token_id":               s.cls,
		"sep_token_id":               s.sep,
		"attention_dropout":          0.0,
		"embedding_dropout":          0.0,
		"mlp_dropout":                0.0,
		"classifier_dropout":         0.0,
		"torch_dtype":                "float32",
		"transformers_version":       "4.48.0",
	}
	if m.Classifier != nil {
		id2label, label2id := map[string]string{}, map[string]int{}
		for i := range m.Classifier.Weight.Rows {
			label := fmt.Sprintf("LABEL_%d", i)
			id2label[fmt.Sprint(i)], label2id[label] = label, i
		}
		c["id2label"], c["label2id"], c["num_labels"] = id2label, label2id, m.Classifier.Weight.Rows
	}
	return c
}
