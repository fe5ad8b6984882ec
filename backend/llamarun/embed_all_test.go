package llamarun_test

import (
	"context"
	"math"
	"testing"

	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/internal/reference"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// The engine's token vectors (TEI's /embed_all) are the reference's hidden
// states before pooling, token by token, for texts and token ids batched
// together; the model's pooled embeddings stay as they were beside them.
// Flash attention off and ggml's GELU in the reference leave only f32
// rounding, bound as in backend/llama.
func TestEmbedAllMatchesReference(t *testing.T) {
	cfg := testmodel.Tiny(21, "mean")
	w := testmodel.Generate(cfg)
	w.Activation = reference.GELUTanhF16
	e := tinyEmbedder(t, cfg, w, 0)

	texts := []string{"the river and the mountain", "hello", "cat dog bird fish tree the slow cat"}
	seqs := [][]int32{cfg.ExpectedIDs(texts[0]), cfg.ExpectedIDs(texts[1]), cfg.ExpectedIDs(texts[2]), {testmodel.CLSID, 7, 9, 11}}
	inputs := []backend.Input{{Text: texts[0]}, {Text: texts[1]}, {Text: texts[2]}, {Tokens: seqs[3]}}
	res, err := e.EmbedAll(context.Background(), backend.EmbedRequest{Model: "tiny", Inputs: inputs})
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i, seq := range seqs {
		want := w.Hidden(seq, nil)
		if len(res.Vectors[i]) != len(want) {
			t.Fatalf("input %d: %d token vectors, want %d", i, len(res.Vectors[i]), len(want))
		}
		for tok, h := range want {
			got := res.Vectors[i][tok]
			if len(got) != len(h) {
				t.Fatalf("input %d token %d: width %d, want %d", i, tok, len(got), len(h))
			}
			for j := range h {
				worst = max(worst, math.Abs(float64(got[j])-h[j]))
			}
		}
	}
	t.Logf("max |diff| vs reference %.2e", worst)
	if worst > 1e-4 {
		t.Errorf("token vectors differ from the reference by %.2e", worst)
	}

	no := false
	pooled, err := e.Embed(context.Background(), backend.EmbedRequest{Model: "tiny", Inputs: inputs[:1], Normalize: &no})
	if err != nil {
		t.Fatal(err)
	}
	want := reference.Pool(w.Hidden(seqs[0], nil), reference.PoolMean)
	for j := range want {
		if d := math.Abs(float64(pooled.Vectors[0][j]) - want[j]); d > 1e-4 {
			t.Fatalf("the pooled embedding beside the token context differs by %.2e", d)
		}
	}
}
