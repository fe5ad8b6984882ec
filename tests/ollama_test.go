package tests

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/api"
)

// Ollama's embedding API on the real engine: the vectors are the same
// reference numbers as /v1/embeddings'.
func TestOllamaEmbedMatchesReference(t *testing.T) {
	m := shared.models["tiny-cls"]
	var resp api.OllamaEmbedResponse
	r := shared.srv.post(t, "/api/embed", map[string]any{"model": "tiny-cls:latest", "input": texts, "keep_alive": "5m"}, &resp)
	if r.StatusCode != http.StatusOK || resp.Model != "tiny-cls:latest" || len(resp.Embeddings) != len(texts) {
		t.Fatalf("status %d, model %q, %d embeddings", r.StatusCode, resp.Model, len(resp.Embeddings))
	}
	tokens := 0
	for i, text := range texts {
		ids := m.ids(text)
		tokens += len(ids)
		if diff := maxAbsDiff(t, resp.Embeddings[i], m.expectedEmbedding(ids, 0)); diff > tolerance {
			t.Errorf("input %d (%q): max abs diff %.2e > %.0e", i, text, diff, tolerance)
		}
	}
	if resp.PromptEvalCount != tokens || resp.TotalDuration <= 0 {
		t.Errorf("prompt_eval_count %d (want %d), total_duration %d", resp.PromptEvalCount, tokens, resp.TotalDuration)
	}

	var legacy api.OllamaEmbeddingResponse
	if r := shared.srv.post(t, "/api/embeddings", map[string]any{"model": "tiny-cls", "prompt": texts[2]}, &legacy); r.StatusCode != http.StatusOK {
		t.Fatalf("/api/embeddings: status %d", r.StatusCode)
	}
	if diff := maxAbsDiff(t, legacy.Embedding, m.expectedEmbedding(m.ids(texts[2]), 0)); diff > tolerance {
		t.Errorf("/api/embeddings: max abs diff %.2e", diff)
	}

	mean := shared.models["tiny-mean"]
	resp = api.OllamaEmbedResponse{}
	shared.srv.post(t, "/api/embed", map[string]any{"model": "tiny-mean", "input": texts[2], "dimensions": 16}, &resp)
	if len(resp.Embeddings) != 1 {
		t.Fatalf("dimensions: %d embeddings", len(resp.Embeddings))
	}
	if diff := maxAbsDiff(t, resp.Embeddings[0], mean.expectedEmbedding(mean.ids(texts[2]), 16)); diff > tolerance {
		t.Errorf("dimensions: truncated+renormalized vector off by %.2e", diff)
	}
}

// Ollama truncates unless told not to, whatever the server's
// --auto-truncate (off on the shared server).
func TestOllamaEmbedTruncate(t *testing.T) {
	m := shared.models["tiny-cls"]
	long := strings.TrimSpace(strings.Repeat("the dog ", 40)) // 82 tokens > 64 positions
	var resp api.OllamaEmbedResponse
	if r := shared.srv.post(t, "/api/embed", map[string]any{"model": "tiny-cls", "input": long}, &resp); r.StatusCode != http.StatusOK {
		t.Fatalf("status %d", r.StatusCode)
	}
	ids := m.ids(long)
	ids = append(ids[:63:63], ids[len(ids)-1])
	if diff := maxAbsDiff(t, resp.Embeddings[0], m.expectedEmbedding(ids, 0)); diff > tolerance || resp.PromptEvalCount != 64 {
		t.Errorf("truncated input off by %.2e, prompt_eval_count %d (want 64)", diff, resp.PromptEvalCount)
	}

	var e api.OllamaError
	r := shared.srv.post(t, "/api/embed", map[string]any{"model": "tiny-cls", "input": long, "truncate": false}, &e)
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(e.Error, "82 tokens") {
		t.Errorf("truncate false: status %d, error %q; want 400 naming 82 tokens", r.StatusCode, e.Error)
	}
}

func TestOllamaModelNotFound(t *testing.T) {
	for _, name := range []string{"tiny-cls:v2", "nomic-embed-text"} {
		var e api.OllamaError
		r := shared.srv.post(t, "/api/embed", map[string]any{"model": name, "input": "hello"}, &e)
		if want := "model '" + name + "' not found"; r.StatusCode != http.StatusNotFound || e.Error != want {
			t.Errorf("%s: status %d, error %q; want 404 %q", name, r.StatusCode, e.Error, want)
		}
	}
}

func TestOllamaTagsShowVersion(t *testing.T) {
	var tags api.OllamaModelList
	if r := shared.srv.get(t, "/api/tags", &tags); r.StatusCode != http.StatusOK {
		t.Fatalf("/api/tags: status %d", r.StatusCode)
	}
	var names []string
	for _, m := range tags.Models {
		names = append(names, m.Name)
		if m.Model != m.Name || m.Size <= 0 || m.ModifiedAt.IsZero() || m.Details.Format != "gguf" {
			t.Errorf("/api/tags: %+v", m)
		}
	}
	// Downloaded embedding models only: not tiny-missing, not the rerankers.
	if want := []string{"tiny-cls:latest", "tiny-mean:latest"}; !slices.Equal(names, want) {
		t.Errorf("/api/tags lists %v, want %v", names, want)
	}

	var show api.OllamaShowResponse
	if r := shared.srv.post(t, "/api/show", map[string]any{"model": "test-org/tiny-mean"}, &show); r.StatusCode != http.StatusOK ||
		show.ModelInfo["general.basename"] != "tiny-mean" || !slices.Equal(show.Capabilities, []string{"embedding"}) {
		t.Errorf("/api/show: status %d, %+v", r.StatusCode, show)
	}

	var v api.OllamaVersion
	if r := shared.srv.get(t, "/api/version", &v); r.StatusCode != http.StatusOK || v.Version == "" {
		t.Errorf("/api/version: status %d, %+v", r.StatusCode, v)
	}
}
