package testmodel

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/internal/reference"
)

// GenerateJinaBERT draws a jina-bert-v2 encoder of cfg's shape, as Generate
// draws a BERT: matrices, embeddings and biases normal with standard
// deviation InitStd, LayerNorms 1 ± 0.1 and 0 ± 0.1, each tensor from its
// own stream keyed by Seed and its HF name. cfg.Intermediate is the width
// of each GEGLU half. Classifier is not supported. It panics on an invalid
// Config.
func GenerateJinaBERT(cfg Config) *reference.JinaBERT {
	if err := cfg.validate(); err != nil {
		panic("testmodel: " + err.Error())
	}
	if cfg.Classifier {
		panic("testmodel: jina-bert-v2 test models are embedders only")
	}
	g := generator{seed: cfg.Seed, std: cfg.initStd()}
	h, ff := cfg.Hidden, cfg.Intermediate
	m := &reference.JinaBERT{
		Config: reference.Config{
			HiddenSize: h, Heads: cfg.Heads, Layers: cfg.Layers, Intermediate: ff,
			MaxPositions: cfg.MaxPositions, TypeVocab: cfg.TypeVocab, LayerNormEps: cfg.layerNormEps(),
		},
		WordEmbeddings:      g.matrix("embeddings.word_embeddings", len(cfg.vocab()), h),
		TokenTypeEmbeddings: g.matrix("embeddings.token_type_embeddings", cfg.TypeVocab, h),
		EmbeddingNorm:       g.layerNorm("embeddings.LayerNorm", h),
	}
	for i := range cfg.Layers {
		p := fmt.Sprintf("encoder.layer.%d.", i)
		m.Layers = append(m.Layers, reference.JinaLayer{
			Query:           g.dense(p+"attention.self.query", h, h),
			Key:             g.dense(p+"attention.self.key", h, h),
			Value:           g.dense(p+"attention.self.value", h, h),
			AttentionOutput: g.dense(p+"attention.output.dense", h, h),
			AttentionNorm:   g.layerNorm(p+"attention.output.LayerNorm", h),
			Gated:           g.matrix(p+"mlp.gated_layers", 2*ff, h),
			Down:            g.dense(p+"mlp.wo", h, ff),
			OutputNorm:      g.layerNorm(p+"mlp.layernorm", h),
		})
	}
	return m
}

// WriteJinaBERTHF writes m as jina-embeddings-v2-base-en's directory is
// laid out: config.json (JinaBertModel through auto_map to
// jinaai/jina-bert-implementation, ALiBi, GEGLU), model.safetensors under
// JinaBertModel's names (f32), BERT's WordPiece tokenizer files, and the
// sentence-transformers files of a cfg.Pooling embedder.
func WriteJinaBERTHF(dir string, m *reference.JinaBERT, cfg Config) error {
	if err := writeJinaBERTHF(dir, m, cfg); err != nil {
		return fmt.Errorf("testmodel: %w", err)
	}
	return nil
}

func writeJinaBERTHF(dir string, m *reference.JinaBERT, cfg Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	if len(cfg.vocab()) != m.VocabSize() {
		return fmt.Errorf("vocabulary has %d tokens, weights %d", len(cfg.vocab()), m.VocabSize())
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	const impl = "jinaai/jina-bert-implementation--"
	config := map[string]any{
		"architectures": []string{"JinaBertModel"},
		"auto_map": map[string]string{
			"AutoConfig": impl + "configuration_bert.JinaBertConfig",
			"AutoModel":  impl + "modeling_bert.JinaBertModel",
		},
		"model_type":                   "bert",
		"hidden_size":                  m.HiddenSize,
		"num_hidden_layers":            len(m.Layers),
		"num_attention_heads":          m.Heads,
		"intermediate_size":            m.Intermediate,
		"max_position_embeddings":      m.MaxPositions,
		"type_vocab_size":              m.TokenTypeEmbeddings.Rows,
		"layer_norm_eps":               m.LayerNormEps,
		"hidden_act":                   "gelu",
		"feed_forward_type":            "geglu",
		"position_embedding_type":      "alibi",
		"emb_pooler":                   cfg.Pooling,
		"vocab_size":                   m.VocabSize(),
		"pad_token_id":                 findSpecials(cfg.vocab()).pad,
		"initializer_range":            cfg.initStd(),
		"hidden_dropout_prob":          0.1,
		"attention_probs_dropout_prob": 0.0,
		"torch_dtype":                  "float32",
		"transformers_version":         "4.26.0",
	}
	if err := writeJSON(filepath.Join(dir, "config.json"), config); err != nil {
		return err
	}
	var ts []checkpoint.NamedTensor
	add := func(name string, shape []int64, data []float32) {
		ts = append(ts, checkpoint.NamedTensor{Name: name, Shape: shape, DType: checkpoint.F32, Data: checkpoint.F32Bytes(data)})
	}
	matrix := func(name string, x reference.Matrix) { add(name, []int64{int64(x.Rows), int64(x.Cols)}, x.Data) }
	vector := func(name string, v []float32) { add(name, []int64{int64(len(v))}, v) }
	dense := func(name string, d reference.Dense) { matrix(name+".weight", d.Weight); vector(name+".bias", d.Bias) }
	norm := func(name string, ln reference.LayerNorm) {
		vector(name+".weight", ln.Weight)
		vector(name+".bias", ln.Bias)
	}
	matrix("embeddings.word_embeddings.weight", m.WordEmbeddings)
	matrix("embeddings.token_type_embeddings.weight", m.TokenTypeEmbeddings)
	norm("embeddings.LayerNorm", m.EmbeddingNorm)
	for i, l := range m.Layers {
		p := fmt.Sprintf("encoder.layer.%d.", i)
		dense(p+"attention.self.query", l.Query)
		dense(p+"attention.self.key", l.Key)
		dense(p+"attention.self.value", l.Value)
		dense(p+"attention.output.dense", l.AttentionOutput)
		norm(p+"attention.output.LayerNorm", l.AttentionNorm)
		matrix(p+"mlp.gated_layers.weight", l.Gated)
		dense(p+"mlp.wo", l.Down)
		norm(p+"mlp.layernorm", l.OutputNorm)
	}
	// JinaBertModel builds BERT's pooler by default; embedders never use
	// it, so it is random, from its own stream.
	g := generator{seed: cfg.Seed, std: cfg.initStd()}
	dense("pooler.dense", g.dense("hf.pooler", m.HiddenSize, m.HiddenSize))
	if err := checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), ts, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	if err := writeSentenceTransformers(dir, &reference.Weights{Config: m.Config}, cfg); err != nil {
		return err
	}
	return writeWordPiece(dir, cfg)
}
