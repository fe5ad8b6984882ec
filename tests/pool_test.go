package tests

import (
	"net/http"
	"testing"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

func loadedModels(t *testing.T, sp *serverProcess) map[string]bool {
	t.Helper()
	var s api.CatalogModelList
	sp.get(t, "/models", &s)
	out := map[string]bool{}
	for _, m := range s.Data {
		if m.Loaded {
			out[m.Name] = true
		}
	}
	return out
}

// With a memory budget that holds the pinned default and one more model,
// asking for a third model evicts the least recently used idle one and
// never the default.
func TestMemoryBudgetEvictsLeastRecentlyUsed(t *testing.T) {
	dir := t.TempDir()
	if _, err := writeModels(dir, map[string]testmodel.Config{
		"pin": testmodel.Tiny(21, "cls"), "b": testmodel.Tiny(22, "mean"), "c": testmodel.Tiny(23, "cls"),
	}); err != nil {
		t.Fatal(err)
	}
	catalog := "models:\n  - {name: pin, kind: embedding, file: pin.gguf}\n  - {name: b, kind: embedding, file: b.gguf}\n  - {name: c, kind: embedding, file: c.gguf}\n"
	// Each tiny model is accounted at its file (< 1 MiB) plus one context's
	// buffers at 1024 batch tokens (96 MiB): 250 MiB holds two, not three.
	sp := serveCatalog(t, true, dir, catalog, "--embedding-model", "pin", "--reranker-model", "", "--max-memory", "250MiB", "--keep-alive", "-1")

	embed := func(model string) {
		t.Helper()
		if r := sp.post(t, "/v1/embeddings", map[string]any{"model": model, "input": "hello"}, nil); r.StatusCode != http.StatusOK {
			t.Fatalf("embedding with %s: status %d", model, r.StatusCode)
		}
	}
	embed("b")
	if got := loadedModels(t, sp); !got["pin"] || !got["b"] {
		t.Fatalf("after b: loaded %v, want pin and b", got)
	}
	embed("c")
	if got := loadedModels(t, sp); !got["pin"] || got["b"] || !got["c"] {
		t.Fatalf("after c: loaded %v, want pin and c (b evicted, the pinned default kept)", got)
	}
	embed("pin") // the default still serves without a reload
	embed("b")
	if got := loadedModels(t, sp); !got["pin"] || !got["b"] || got["c"] {
		t.Fatalf("after b again: loaded %v, want pin and b", got)
	}
}
