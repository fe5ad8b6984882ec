package testmodel

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/internal/reference"
)

// NomicMoEConfig describes a random nomic-embed-text-v2-moe-shaped model.
// Config gives the seed, vocabulary and shape (Intermediate is n_inner,
// each expert's width too; MaxPositions is max_trained_positions;
// TypeVocab, Pooling, Classifier and Tokenizer are not read: the model has
// one token type, mean pooling and XLM-R's Unigram tokenizer).
type NomicMoEConfig struct {
	Config
	Experts  int // num_experts
	TopK     int // moe_top_k
	MoEEvery int // moe_every_n_layers: layer i is MoE when i % MoEEvery == 1
	// RouterStd is the router weights' standard deviation: large enough
	// that the top-k choice has clear margins (NomicMoE.MinRouterGap).
	RouterStd float64
	// ExpertStd is the expert stacks' standard deviation; 0 means InitStd.
	// Larger than InitStd, it makes the MoE branch weigh against the
	// residual, so that a wrong gating moves the output past test
	// tolerances.
	ExpertStd float64
	// ExpertBias draws mlp.experts.bias at random instead of zero.
	// llama.cpp's nomic-bert-moe graph has no such bias, so a model that
	// serves exactly needs it zero; the converter warns about one that is
	// not.
	ExpertBias bool
	// PaddedVocab is the embedding table's row count, as
	// pad_vocab_size_multiple pads it past the tokenizer (the real model
	// has 250048 rows for 250002 tokens); 0 means the vocabulary's size.
	PaddedVocab int
}

// NomicMoEPrompts are nomic-embed-text-v2-moe's sentence-transformers
// prompts (config_sentence_transformers.json).
var NomicMoEPrompts = map[string]string{"query": "search_query: ", "passage": "search_document: "}

// TinyNomicMoE is a small nomic-bert-moe: two layers, the second MoE with
// four experts of which two are chosen. The vocabulary adds the prompts'
// first words (NomicMoEPrompts) so texts that carry them tokenize through
// ExpectedIDs.
func TinyNomicMoE(seed int64) NomicMoEConfig {
	vocab := append(DefaultVocab(), "search_query:", "search_document:")
	return NomicMoEConfig{
		Config: Config{
			Seed: seed, Vocab: vocab, Hidden: 64, Layers: 2, Heads: 4, Intermediate: 96,
			MaxPositions: 128, TypeVocab: 1, Tokenizer: "ugm", Pooling: "mean", LayerNormEps: 1e-5, InitStd: 0.05,
		},
		Experts: 4, TopK: 2, MoEEvery: 2, RouterStd: 0.25, ExpertStd: 0.2,
		PaddedVocab: (len(vocab) + 63) / 64 * 64,
	}
}

func (c NomicMoEConfig) validate() error {
	switch {
	case c.Experts < 2 || c.TopK < 1 || c.TopK >= c.Experts:
		return fmt.Errorf("%d experts, top %d: want 1 ≤ top < experts", c.Experts, c.TopK)
	case c.MoEEvery < 2:
		return fmt.Errorf("moe_every_n_layers %d: want at least 2", c.MoEEvery)
	case c.Layers < 2:
		return fmt.Errorf("%d layers: the first MoE layer is layer 1", c.Layers)
	case (c.Hidden/max(c.Heads, 1))%2 != 0:
		return fmt.Errorf("head width %d: rotary needs it even", c.Hidden/max(c.Heads, 1))
	case c.PaddedVocab != 0 && c.PaddedVocab < len(c.vocab()):
		return fmt.Errorf("padded vocabulary %d is smaller than the vocabulary %d", c.PaddedVocab, len(c.vocab()))
	}
	return c.Config.validate()
}

// GenerateNomicMoE draws random weights for cfg (see Generate for the
// distributions). It panics on an invalid config.
func GenerateNomicMoE(cfg NomicMoEConfig) *reference.NomicMoE {
	if err := cfg.validate(); err != nil {
		panic("testmodel: " + err.Error())
	}
	g := generator{seed: cfg.Seed, std: cfg.initStd()}
	h, ff, e := cfg.Hidden, cfg.Intermediate, cfg.Experts
	rows := max(cfg.PaddedVocab, len(cfg.vocab()))
	m := &reference.NomicMoE{
		HiddenSize: h, Heads: cfg.Heads, LayerNormEps: cfg.layerNormEps(), RopeTheta: 10000, TopK: cfg.TopK,
		MaxPositions:   cfg.MaxPositions,
		WordEmbeddings: g.matrix("embeddings.word_embeddings", rows, h),
		TokenType:      g.normal("embeddings.token_type_embeddings.weight", h, 0, g.std),
		EmbeddingNorm:  g.layerNorm("emb_ln", h),
	}
	for i := range cfg.Layers {
		p := fmt.Sprintf("encoder.layers.%d.", i)
		l := reference.NomicLayer{
			QKV: g.dense(p+"attn.Wqkv", 3*h, h), Out: g.dense(p+"attn.out_proj", h, h),
			Norm1: g.layerNorm(p+"norm1", h), Norm2: g.layerNorm(p+"norm2", h),
		}
		if i%cfg.MoEEvery == 1 {
			router, experts := generator{seed: cfg.Seed, std: cfg.RouterStd}, generator{seed: cfg.Seed, std: cmp.Or(cfg.ExpertStd, g.std)}
			l.Experts = &reference.NomicExperts{
				Router: router.matrix(p+"mlp.router.layer", e, h),
				W1:     experts.matrix(p+"mlp.experts.mlp.w1", e*ff, h),
				W2:     experts.matrix(p+"mlp.experts.mlp.w2", e*ff, h),
				Bias:   make([]float32, h),
			}
			if cfg.ExpertBias {
				l.Experts.Bias = g.normal(p+"mlp.experts.bias", h, 0, 0.1)
			}
		} else {
			fc1, fc2 := g.dense(p+"mlp.fc1", ff, h), g.dense(p+"mlp.fc2", h, ff)
			l.FC1, l.FC2 = &fc1, &fc2
		}
		m.Layers = append(m.Layers, l)
	}
	return m
}

// WriteNomicMoEHF writes m as nomic-ai/nomic-embed-text-v2-moe's repository
// holds it: config.json in nomic-bert-2048's keys (NomicBertModel through
// auto_map), model.safetensors under its tensor names (fused Wqkv, norm1/
// norm2, mlp.fc1/fc2 on dense layers; mlp.router.layer and the megablocks
// expert stacks mlp.experts.mlp.w1/w2 with one shared mlp.experts.bias on
// MoE layers), XLM-R's Unigram tokenizer, and the sentence-transformers
// modules (mean pooling, Normalize) with NomicMoEPrompts.
func WriteNomicMoEHF(dir string, m *reference.NomicMoE, cfg NomicMoEConfig) error {
	if err := writeNomicMoEHF(dir, m, cfg); err != nil {
		return fmt.Errorf("testmodel: %w", err)
	}
	return nil
}

func writeNomicMoEHF(dir string, m *reference.NomicMoE, cfg NomicMoEConfig) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "config.json"), nomicMoEConfig(m, cfg)); err != nil {
		return err
	}
	var tensors []checkpoint.NamedTensor
	add := func(name string, shape []int64, data []float32) {
		tensors = append(tensors, checkpoint.NamedTensor{Name: name, Shape: shape, DType: checkpoint.F32, Data: checkpoint.F32Bytes(data)})
	}
	matrix := func(name string, x reference.Matrix) { add(name, []int64{int64(x.Rows), int64(x.Cols)}, x.Data) }
	vector := func(name string, v []float32) { add(name, []int64{int64(len(v))}, v) }
	dense := func(name string, d reference.Dense) { matrix(name+".weight", d.Weight); vector(name+".bias", d.Bias) }
	norm := func(name string, ln reference.LayerNorm) {
		vector(name+".weight", ln.Weight)
		vector(name+".bias", ln.Bias)
	}
	matrix("embeddings.word_embeddings.weight", m.WordEmbeddings)
	add("embeddings.token_type_embeddings.weight", []int64{1, int64(m.HiddenSize)}, m.TokenType)
	norm("emb_ln", m.EmbeddingNorm)
	for i, l := range m.Layers {
		p := fmt.Sprintf("encoder.layers.%d.", i)
		dense(p+"attn.Wqkv", l.QKV)
		dense(p+"attn.out_proj", l.Out)
		if l.Experts != nil {
			matrix(p+"mlp.router.layer.weight", l.Experts.Router)
			matrix(p+"mlp.experts.mlp.w1", l.Experts.W1)
			matrix(p+"mlp.experts.mlp.w2", l.Experts.W2)
			vector(p+"mlp.experts.bias", l.Experts.Bias)
		} else {
			dense(p+"mlp.fc1", *l.FC1)
			dense(p+"mlp.fc2", *l.FC2)
		}
		norm(p+"norm1", l.Norm1)
		norm(p+"norm2", l.Norm2)
	}
	if err := checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), tensors, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	if err := writeXLMRUnigram(dir, cfg.Config); err != nil {
		return err
	}
	st := cfg.Config
	st.Pooling = "mean"
	return writeSentenceTransformersFiles(dir, m.HiddenSize, m.MaxPositions, st, NomicMoEPrompts)
}

// nomicMoEConfig is config.json as nomic-embed-text-v2-moe publishes it,
// with m's shape.
func nomicMoEConfig(m *reference.NomicMoE, cfg NomicMoEConfig) map[string]any {
	const code = "nomic-ai/nomic-bert-2048--"
	return map[string]any{
		"architectures": []string{"NomicBertModel"},
		"auto_map": map[string]string{
			"AutoConfig": code + "configuration_hf_nomic_bert.NomicBertConfig",
			"AutoModel":  code + "modeling_hf_nomic_bert.NomicBertModel",
		},
		"model_type":                   "nomic_bert",
		"activation_function":          "gelu",
		"n_embd":                       m.HiddenSize,
		"n_head":                       m.Heads,
		"n_inner":                      cfg.Intermediate,
		"n_layer":                      len(m.Layers),
		"n_positions":                  m.MaxPositions,
		"max_trained_positions":        m.MaxPositions,
		"layer_norm_epsilon":           m.LayerNormEps,
		"vocab_size":                   m.WordEmbeddings.Rows,
		"pad_vocab_size_multiple":      64,
		"type_vocab_size":              1,
		"pad_token_id":                 XLMRobertaPadTokenID,
		"bos_token_id":                 nil,
		"eos_token_id":                 nil,
		"causal":                       false,
		"prenorm":                      false,
		"parallel_block":               false,
		"rotary_emb_base":              m.RopeTheta,
		"rotary_emb_fraction":          1.0,
		"rotary_emb_interleaved":       false,
		"rotary_emb_scale_base":        nil,
		"rotary_scaling_factor":        nil,
		"qkv_proj_bias":                true,
		"mlp_fc1_bias":                 true,
		"mlp_fc2_bias":                 true,
		"num_experts":                  cfg.Experts,
		"moe_top_k":                    cfg.TopK,
		"moe_every_n_layers":           cfg.MoEEvery,
		"moe_normalize_expert_weights": false,
		"moe_impl":                     "megablocks",
		"num_shared_experts":           0,
		"expert_choice_router":         false,
		"initializer_range":            cfg.initStd(),
		"torch_dtype":                  "float32",
		"transformers_version":         "4.48.3",
	}
}

// writeSentenceTransformersFiles writes modules.json (Transformer, Pooling,
// Normalize), 1_Pooling/config.json with cfg.Pooling (cls or mean),
// sentence_bert_config.json with maxSeq and, when prompts is not empty,
// config_sentence_transformers.json.
func writeSentenceTransformersFiles(dir string, hidden, maxSeq int, cfg Config, prompts map[string]string) error {
	if err := writeSentenceTransformers(dir, &reference.Weights{Config: reference.Config{HiddenSize: hidden, MaxPositions: maxSeq}}, cfg); err != nil {
		return err
	}
	if len(prompts) == 0 {
		return nil
	}
	return writeJSON(filepath.Join(dir, "config_sentence_transformers.json"), map[string]any{
		"prompts": prompts, "default_prompt_name": nil, "similarity_fn_name": "cosine",
	})
}
