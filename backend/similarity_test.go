package backend

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/rs/zerolog"
)

// Similarity is the cosine of the fake model's normalized embeddings,
// (tokens, sum of ids, 1), of each sentence and the source, even for a
// model whose catalog entry turns normalization off.
func TestSimilarity(t *testing.T) {
	dir, cat := fakeModelCatalog(t, "\n  - {name: raw, kind: embedding, file: fake.gguf, normalize: false}")
	e := New(Config{ModelsDir: dir, Workers: 1, BudgetBytes: 1 << 30, Runtime: &fakeRuntime{}}, cat, zerolog.Nop())
	defer e.Close()

	// [CLS] a [SEP] is (3, 14, 1); [CLS] a a [SEP] (4, 25, 1); [CLS] aaaa [SEP] (3, 17, 1).
	res, err := e.Similarity(context.Background(), EmbedRequest{Model: "raw", Inputs: []Input{{Text: "a"}, {Text: "a"}, {Text: "a a"}, {Text: "aaaa"}}})
	if err != nil {
		t.Fatal(err)
	}
	cos := func(a, b [3]float64) float64 {
		return (a[0]*b[0] + a[1]*b[1] + a[2]*b[2]) /
			math.Sqrt((a[0]*a[0]+a[1]*a[1]+a[2]*a[2])*(b[0]*b[0]+b[1]*b[1]+b[2]*b[2]))
	}
	src := [3]float64{3, 14, 1}
	want := []float64{1, cos(src, [3]float64{4, 25, 1}), cos(src, [3]float64{3, 17, 1})}
	if len(res.Scores) != len(want) || res.Model != "raw" || res.PromptTokens != 13 {
		t.Fatalf("%+v; want %d scores from raw over 13 tokens", res, len(want))
	}
	for i := range want {
		if math.Abs(float64(res.Scores[i])-want[i]) > 1e-6 {
			t.Errorf("sentence %d: %.6f, want %.6f", i, res.Scores[i], want[i])
		}
	}
	if _, err := e.Similarity(context.Background(), EmbedRequest{Model: "raw", Inputs: []Input{{Text: "a"}}}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("a source alone: %v, want ErrInvalidInput", err)
	}
}
