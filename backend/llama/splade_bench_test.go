package llama

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
)

// BenchmarkSPLADEHead times the head alone on splade-v3's shape (768
// wide, 30522 vocabulary entries) for 8 sequences of 128 tokens, by
// decoder type and chunk size, in GFLOP/s of the two matrix products.
func BenchmarkSPLADEHead(b *testing.B) {
	quietLlamaLog(b)
	Init("")
	const hidden, vocab = 768, 30522
	r := rand.New(rand.NewPCG(1, 2))
	normal := func(n int, mean, std float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(mean + std*r.NormFloat64())
		}
		return v
	}
	states := make([][]float32, 8)
	for i := range states {
		states[i] = normal(128*hidden, 0, 1)
	}
	for _, typ := range []gguf.TensorType{gguf.TensorF16, gguf.TensorF32} {
		w := gguf.NewWriter()
		w.AddTensor(keys.MLMDenseWeight, []uint64{hidden, hidden}, gguf.TensorF32, normal(hidden*hidden, 0, 0.02))
		w.AddTensor(keys.MLMDenseBias, []uint64{hidden}, gguf.TensorF32, normal(hidden, 0, 0.02))
		w.AddTensor(keys.MLMNormWeight, []uint64{hidden}, gguf.TensorF32, normal(hidden, 1, 0.1))
		w.AddTensor(keys.MLMNormBias, []uint64{hidden}, gguf.TensorF32, normal(hidden, 0, 0.1))
		w.AddTensor(keys.MLMDecoderWeight, []uint64{hidden, vocab}, typ, normal(hidden*vocab, 0, 0.02))
		w.AddTensor(keys.MLMDecoderBias, []uint64{vocab}, gguf.TensorF32, normal(vocab, 0, 0.02))
		path := filepath.Join(b.TempDir(), "heads.gguf")
		if err := w.WriteFile(path); err != nil {
			b.Fatal(err)
		}
		for _, chunk := range []int{128, 512} {
			b.Run(fmt.Sprintf("%v/chunk=%d", typ, chunk), func(b *testing.B) {
				h, err := LoadSPLADEHead(path, SPLADEParams{Hidden: hidden, Eps: 1e-12, ChunkTokens: chunk})
				if err != nil {
					b.Fatal(err)
				}
				defer h.Close()
				b.ResetTimer()
				for range b.N {
					if _, err := h.MaxLogits(states); err != nil {
						b.Fatal(err)
					}
				}
				flops := 2.0 * 1024 * (hidden*hidden + hidden*vocab)
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
