package llamarun_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/internal/reference"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// A batch budget under llama.cpp's 256 sequences (--max-batch-tokens 64)
// must still load a mean-pooled model: asking llama.cpp for more sequences
// than the batch has tokens made its graph reservation abort the process
// (ggml_can_mul_mat) on the mean-pooling matrix.
func TestSmallBatchBudgetLoadsMeanPooling(t *testing.T) {
	for _, budget := range []int{16, 64, 128} {
		t.Run(fmt.Sprintf("batch=%d", budget), func(t *testing.T) {
			cfg := testmodel.Tiny(5, "mean")
			w := testmodel.Generate(cfg)
			w.Activation = reference.GELUTanhF16
			e := tinyEmbedder(t, cfg, w, budget)

			texts := []string{"the river", "hello cat", "dog bird fish", "tree", "the slow cat", "mountain river"}
			inputs := make([]backend.Input, len(texts))
			for i, text := range texts {
				inputs[i] = backend.Input{Text: text}
			}
			no := false
			res, err := e.Embed(context.Background(), backend.EmbedRequest{Model: "tiny", Inputs: inputs, Normalize: &no})
			if err != nil {
				t.Fatal(err)
			}
			for i, text := range texts {
				want := reference.Pool(w.Hidden(cfg.ExpectedIDs(text), nil), reference.PoolMean)
				for j := range want {
					if d := math.Abs(float64(res.Vectors[i][j]) - want[j]); d > 1e-4 {
						t.Fatalf("input %d differs from the reference by %.2e", i, d)
					}
				}
			}
		})
	}
}
