package llama

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/rerank-api/rerank-api/convert"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// The ggml encoder against llama.cpp on a BERT of equal FLOPs: BERT-base
// (feed-forward 3072) and a ModernBERT of its width and depth whose GeGLU
// halves are 2048 wide, so both multiply 4·768² + 6144·768 weights per
// token and layer; attention scores cost the same (the sliding window is a
// mask, not skipped work). f16 weights, 8 sequences of 128 tokens.
//
//	make go ARGS="test -run NONE -bench EqualFLOPs -benchtime 2x ./backend/llama/"
func BenchmarkEqualFLOPs(b *testing.B) {
	quietLlamaLog(b)
	Init("")
	dir := b.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	batch := make([][]int32, 8)
	for s := range batch {
		batch[s] = make([]int32, 128)
		for i := range batch[s] {
			batch[s][i] = int32(5 + r.IntN(300))
		}
	}
	tokens := float64(8 * 128)

	bert := testmodel.BERTBase(1)
	bertPath := filepath.Join(dir, "bert.gguf")
	if err := testmodel.WriteGGUF(bertPath, testmodel.Generate(bert), bert, "f16"); err != nil {
		b.Fatal(err)
	}
	mb := testmodel.TinyModernBERT(1, "mean")
	mb.Hidden, mb.Layers, mb.Heads, mb.Intermediate, mb.MaxPositions, mb.LocalAttention = 768, 12, 12, 2048, 512, 128
	mb.InitStd = 0.02
	src, mbPath := filepath.Join(dir, "mb-hf"), filepath.Join(dir, "mb.gguf")
	if err := testmodel.WriteModernBERTHF(src, testmodel.GenerateModernBERT(mb), mb); err != nil {
		b.Fatal(err)
	}
	if err := convert.Convert(context.Background(), convert.Options{Input: src, Output: mbPath, OutType: "f16"}); err != nil {
		b.Fatal(err)
	}

	run := func(b *testing.B, encode func([][]int32) ([][]float32, error)) {
		if _, err := encode(batch); err != nil { // warm-up: buffers allocated
			b.Fatal(err)
		}
		start := time.Now()
		for range b.N {
			if _, err := encode(batch); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(tokens*float64(b.N)/time.Since(start).Seconds(), "tokens/s")
	}
	params := ContextParams{BatchTokens: 1024, Sequences: 8, Threads: 2, Pooling: PoolingMean}
	type encoder interface {
		Encode([][]int32) ([][]float32, error)
		Close()
	}
	newBERT := func(p ContextParams) (encoder, func(), error) {
		m, err := LoadModel(bertPath, ModelParams{})
		if err != nil {
			return nil, nil, err
		}
		c, err := m.NewContext(p)
		if err != nil {
			m.Close()
			return nil, nil, err
		}
		return c, m.Close, nil
	}
	newModernBERT := func(p ContextParams) (encoder, func(), error) {
		m, err := LoadModernBERT(mbPath, ModelParams{})
		if err != nil {
			return nil, nil, err
		}
		c, err := m.NewContext(p)
		if err != nil {
			m.Close()
			return nil, nil, err
		}
		return c, m.Close, nil
	}
	for _, r := range []struct {
		name  string
		flash bool
		load  func(ContextParams) (encoder, func(), error)
	}{
		{"llama.cpp-bert", false, newBERT}, {"llama.cpp-bert-flash", true, newBERT},
		{"ggml-modernbert", false, newModernBERT}, {"ggml-modernbert-flash", true, newModernBERT},
	} {
		b.Run(r.name, func(b *testing.B) {
			p := params
			p.FlashAttention = r.flash
			c, closeModel, err := r.load(p)
			if err != nil {
				b.Fatal(err)
			}
			defer closeModel()
			defer c.Close()
			run(b, c.Encode)
		})
	}
}
