package tests

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// snowflake-arctic-embed-l-v2.0 in miniature: an XLMRobertaModel checkpoint
// with XLM-R's Unigram tokenizer and sentence-transformers modules (CLS
// pooling, Normalize, the "query: " prompt for queries only) converts
// through the XLM-R path and serves the reference embeddings, the prompt
// applied to queries and not to documents, and Matryoshka dimensions.
func TestArcticEmbedV2ServesExactly(t *testing.T) {
	dir := t.TempDir()
	cfg := testmodel.TinyArcticEmbed(91)
	w := testmodel.Generate(cfg)
	src := filepath.Join(dir, "arctic-hf")
	if err := testmodel.WriteArcticEmbedHF(src, w, cfg); err != nil {
		t.Fatal(err)
	}
	runConvert(t, "--input", src, "--output", filepath.Join(dir, "arctic-tiny.gguf"), "--outtype", "f32")
	checkGGUFValues(t, filepath.Join(dir, "arctic-tiny.gguf"), map[string]any{
		"general.architecture": "bert",
		"bert.pooling_type":    uint32(2),
		keys.QueryPrefix:       testmodel.ArcticEmbedPrompts["query"],
		keys.Normalize:         true,
	})
	if md, err := gguf.ReadMetadata(filepath.Join(dir, "arctic-tiny.gguf")); err != nil {
		t.Fatal(err)
	} else if got, ok := md.Value(keys.DocumentPrefix); ok {
		t.Errorf("%s = %q: arctic-embed has no document prompt", keys.DocumentPrefix, got)
	}

	catalog := "models:\n  - {name: arctic-tiny, kind: embedding, file: arctic-tiny.gguf, matryoshka: true, min_dimensions: 32}\n"
	sp := serveCatalog(t, true, dir, catalog, "--embedding-model", "arctic-tiny", "--reranker-model", "")
	m := &testModel{name: "arctic-tiny", cfg: cfg, weights: w}
	texts := []string{"the dog near the river in winter", "dog", "winter snow on the mountain and the river in the morning"}
	for _, tc := range []struct {
		inputType, prefix string
		dims              int
	}{
		{"", "", 0},
		{"query", testmodel.ArcticEmbedPrompts["query"], 0},
		{"document", "", 0},
		{"search_query", testmodel.ArcticEmbedPrompts["query"], 32},
	} {
		t.Run(fmt.Sprintf("input_type=%q dimensions=%d", tc.inputType, tc.dims), func(t *testing.T) {
			checkEmbeddings(t, sp, "arctic-tiny", texts, tc.inputType, tc.dims, func(text string) []float64 {
				return m.expectedEmbedding(m.ids(tc.prefix+text), tc.dims)
			})
		})
	}
}

// checkEmbeddings posts texts to /v1/embeddings with inputType and dims
// (left out when empty or 0) and compares each vector with want(text).
func checkEmbeddings(t *testing.T, sp *serverProcess, model string, texts []string, inputType string, dims int, want func(text string) []float64) {
	t.Helper()
	body := map[string]any{"model": model, "input": texts}
	if inputType != "" {
		body["input_type"] = inputType
	}
	if dims > 0 {
		body["dimensions"] = dims
	}
	var resp api.OpenAIEmbeddingResponse
	if r := sp.post(t, "/v1/embeddings", body, &resp); r.StatusCode != http.StatusOK {
		t.Fatalf("status %d", r.StatusCode)
	}
	if len(resp.Data) != len(texts) {
		t.Fatalf("%d embeddings for %d inputs", len(resp.Data), len(texts))
	}
	worst := 0.0
	for i, text := range texts {
		d := maxAbsDiff(t, floats(t, resp.Data[i].Embedding), want(text))
		worst = max(worst, d)
		if d > tolerance {
			t.Errorf("input %d: max abs diff %.2e > %.0e", i, d, tolerance)
		}
	}
	t.Logf("max |embedding − reference| = %.2e", worst)
}

// checkGGUFValues compares metadata values of the GGUF at path, printed.
func checkGGUFValues(t *testing.T, path string, values map[string]any) {
	t.Helper()
	md, err := gguf.ReadMetadata(path)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range values {
		if got, ok := md.Value(key); !ok || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v (present %v), want %v", key, got, ok, want)
		}
	}
}
