package testmodel

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"

	"github.com/rerank-api/rerank-api/internal/reference"
)

// Generate draws random weights for cfg. Matrices and embeddings are normal
// with standard deviation InitStd (as HF initializes BERT); unlike HF,
// biases are nonzero (same distribution) and LayerNorm parameters are
// 1 ± 0.1 and 0 ± 0.1, so an implementation that drops or misplaces any of
// them produces visibly different outputs.
//
// Every tensor has its own random stream keyed by Seed and its GGUF name,
// so models that differ only in their head (cls vs rank) share the same
// encoder weights. It panics on an invalid Config.
func Generate(cfg Config) *reference.Weights {
	if err := cfg.validate(); err != nil {
		panic("testmodel: " + err.Error())
	}
	g := generator{seed: cfg.Seed, std: cfg.initStd()}
	h, ff := cfg.Hidden, cfg.Intermediate
	w := &reference.Weights{
		Config: reference.Config{
			HiddenSize: h, Heads: cfg.Heads, Layers: cfg.Layers, Intermediate: ff,
			MaxPositions: cfg.MaxPositions, TypeVocab: cfg.TypeVocab, LayerNormEps: cfg.layerNormEps(),
		},
		WordEmbeddings:      g.matrix("token_embd", len(cfg.vocab()), h),
		PositionEmbeddings:  g.matrix("position_embd", cfg.MaxPositions, h),
		TokenTypeEmbeddings: g.matrix("token_types", cfg.TypeVocab, h),
		EmbeddingNorm:       g.layerNorm("token_embd_norm", h),
	}
	for i := 0; i < cfg.Layers; i++ {
		blk := func(name string) string { return fmt.Sprintf("blk.%d.%s", i, name) }
		w.Layers = append(w.Layers, reference.Layer{
			Query:           g.dense(blk("attn_q"), h, h),
			Key:             g.dense(blk("attn_k"), h, h),
			Value:           g.dense(blk("attn_v"), h, h),
			AttentionOutput: g.dense(blk("attn_output"), h, h),
			AttentionNorm:   g.layerNorm(blk("attn_output_norm"), h),
			Intermediate:    g.dense(blk("ffn_up"), ff, h),
			Output:          g.dense(blk("ffn_down"), h, ff),
			OutputNorm:      g.layerNorm(blk("layer_output_norm"), h),
		})
	}
	if cfg.Classifier {
		pooler, out := g.dense("cls", h, h), g.dense("cls.output", cfg.labels(), h)
		w.Pooler, w.Classifier = &pooler, &out
	}
	return w
}

type generator struct {
	seed int64
	std  float64
}

func (g generator) stream(name string) *rand.Rand {
	hash := fnv.New64a()
	hash.Write([]byte(name))
	return rand.New(rand.NewPCG(uint64(g.seed), hash.Sum64()))
}

func (g generator) normal(name string, n int, mean, std float64) []float32 {
	r := g.stream(name)
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(mean + std*r.NormFloat64())
	}
	return out
}

func (g generator) matrix(name string, rows, cols int) reference.Matrix {
	return reference.Matrix{Rows: rows, Cols: cols, Data: g.normal(name+".weight", rows*cols, 0, g.std)}
}

// dense is a linear layer with HF's [out, in] weight.
func (g generator) dense(name string, out, in int) reference.Dense {
	return reference.Dense{Weight: g.matrix(name, out, in), Bias: g.normal(name+".bias", out, 0, g.std)}
}

func (g generator) layerNorm(name string, n int) reference.LayerNorm {
	return reference.LayerNorm{Weight: g.normal(name+".weight", n, 1, 0.1), Bias: g.normal(name+".bias", n, 0, 0.1)}
}
