package testmodel

import (
	"fmt"

	"github.com/rerank-api/rerank-api/internal/reference"
)

// ModernBERTConfig describes a random ModernBERT. Of the embedded Config,
// Seed, Vocab, Hidden, Layers, Heads, Intermediate (each GeGLU half),
// MaxPositions, Pooling, Classifier, Labels, LayerNormEps (norm_eps) and
// InitStd apply; ModernBERT has no token types, and its tokenizer files
// are SentencePiece unigram ones.
type ModernBERTConfig struct {
	Config
	GlobalEvery    int     // global_attn_every_n_layers
	LocalAttention int     // local_attention: sliding layers see |i−j| ≤ LocalAttention/2
	GlobalTheta    float64 // global_rope_theta
	LocalTheta     float64 // local_rope_theta
	// Bias sets attention_bias, mlp_bias, norm_bias and classifier_bias,
	// all false in ModernBERT's defaults and in ruri-v3.
	Bias bool
	// ClassifierPooling is classifier_pooling, "cls" or "mean" ("" is cls).
	ClassifierPooling string
}

// TinyModernBERT has four layers, global attention in layers 0 and 3 and a
// window of ±4 tokens in layers 1 and 2, so that any test sequence longer
// than 5 tokens depends on the sliding mask; weights are drawn at 0.05
// for the reason Tiny gives.
func TinyModernBERT(seed int64, pooling string) ModernBERTConfig {
	return ModernBERTConfig{
		Config: Config{
			Seed: seed, Hidden: 64, Layers: 4, Heads: 4, Intermediate: 96, MaxPositions: 256,
			TypeVocab: 1, Tokenizer: "ugm", Pooling: pooling, Classifier: pooling == "rank",
			LayerNormEps: 1e-5, InitStd: 0.05,
		},
		GlobalEvery: 3, LocalAttention: 8, GlobalTheta: 160000, LocalTheta: 10000,
		ClassifierPooling: "mean",
	}
}

// RuriV3_310M has cl-nagoya/ruri-v3-310m's encoder shape (config.json:
// 25 layers of width 768, 12 heads, GeGLU halves of 3072, global attention
// every 3rd layer, a 128-token window), for benchmarks.
func RuriV3_310M(seed int64) ModernBERTConfig {
	return ModernBERTConfig{
		Config: Config{
			Seed: seed, Hidden: 768, Layers: 25, Heads: 12, Intermediate: 3072, MaxPositions: 8192,
			TypeVocab: 1, Tokenizer: "ugm", Pooling: "mean", LayerNormEps: 1e-5,
		},
		GlobalEvery: 3, LocalAttention: 128, GlobalTheta: 160000, LocalTheta: 10000,
	}
}

func (c ModernBERTConfig) validate() error {
	if err := c.Config.validate(); err != nil {
		return err
	}
	switch {
	case (c.Hidden/c.Heads)%2 != 0:
		return fmt.Errorf("head size %d is odd; RoPE rotates pairs", c.Hidden/c.Heads)
	case c.GlobalEvery < 1 || c.LocalAttention < 2:
		return fmt.Errorf("global attention every %d layers, window %d: want ≥ 1 and ≥ 2", c.GlobalEvery, c.LocalAttention)
	case c.GlobalTheta <= 0 || c.LocalTheta <= 0:
		return fmt.Errorf("RoPE bases %g and %g must be positive", c.GlobalTheta, c.LocalTheta)
	case c.ClassifierPooling != "" && c.ClassifierPooling != "cls" && c.ClassifierPooling != "mean":
		return fmt.Errorf("classifier pooling %q: want cls or mean", c.ClassifierPooling)
	case c.Pooling == "last":
		return fmt.Errorf("pooling %q: want cls, mean or rank", c.Pooling)
	}
	return nil
}

// GenerateModernBERT draws a ModernBERT of cfg's shape as Generate draws a
// BERT: matrices, embeddings and biases normal with standard deviation
// InitStd, LayerNorms 1 ± 0.1 and 0 ± 0.1, each tensor from its own stream
// keyed by Seed and its Hugging Face name (without the "model." prefix), so
// the embedder and the classifier of one seed share their encoder. It
// panics on an invalid config.
func GenerateModernBERT(cfg ModernBERTConfig) *reference.ModernBERT {
	if err := cfg.validate(); err != nil {
		panic("testmodel: " + err.Error())
	}
	g := generator{seed: cfg.Seed, std: cfg.initStd()}
	h, ff := cfg.Hidden, cfg.Intermediate
	dense := func(name string, out, in int, bias bool) reference.Dense {
		d := g.dense(name, out, in)
		if !bias {
			d.Bias = nil
		}
		return d
	}
	norm := func(name string) reference.LayerNorm {
		ln := g.layerNorm(name, h)
		if !cfg.Bias {
			ln.Bias = nil
		}
		return ln
	}
	act := reference.GELUErf // hidden_activation "gelu": transformers' erf GELU
	m := &reference.ModernBERT{
		ModernBERTConfig: reference.ModernBERTConfig{
			HiddenSize: h, Heads: cfg.Heads, Intermediate: ff, MaxPositions: cfg.MaxPositions,
			NormEps: cfg.layerNormEps(), GlobalEvery: cfg.GlobalEvery, LocalAttention: cfg.LocalAttention,
			GlobalTheta: cfg.GlobalTheta, LocalTheta: cfg.LocalTheta, Activation: act,
		},
		Embeddings:    g.matrix("embeddings.tok_embeddings", len(cfg.vocab()), h),
		EmbeddingNorm: norm("embeddings.norm"),
		FinalNorm:     norm("final_norm"),
	}
	for i := range cfg.Layers {
		p := fmt.Sprintf("layers.%d.", i)
		l := reference.ModernLayer{
			Wqkv:    dense(p+"attn.Wqkv", 3*h, h, cfg.Bias),
			Wo:      dense(p+"attn.Wo", h, h, cfg.Bias),
			MLPNorm: norm(p + "mlp_norm"),
			Wi:      dense(p+"mlp.Wi", 2*ff, h, cfg.Bias),
			MLPOut:  dense(p+"mlp.Wo", h, ff, cfg.Bias),
		}
		if i > 0 {
			ln := norm(p + "attn_norm")
			l.AttnNorm = &ln
		}
		m.Layers = append(m.Layers, l)
	}
	if cfg.Classifier {
		headDense := dense("head.dense", h, h, cfg.Bias)
		headNorm := norm("head.norm")
		classifier := dense("classifier", cfg.labels(), h, true) // nn.Linear's default bias
		m.HeadDense, m.HeadNorm, m.Classifier = &headDense, &headNorm, &classifier
		m.HeadActivation = act
		m.ClassifierPooling = reference.PoolCLS
		if cfg.ClassifierPooling == "mean" {
			m.ClassifierPooling = reference.PoolMean
		}
	}
	return m
}
