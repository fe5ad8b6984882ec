package tests

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// A catalog model that is not on disk is downloaded on its first request
// from the hub named by HF_ENDPOINT; concurrent first requests share one
// download and all get their embeddings.
func TestServePullsMissingModelOnFirstRequest(t *testing.T) {
	src := t.TempDir()
	models, err := writeModels(src, map[string]testmodel.Config{"hubbed": testmodel.Tiny(61, "mean")})
	if err != nil {
		t.Fatal(err)
	}
	gguf, err := os.ReadFile(filepath.Join(src, "hubbed.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	var downloads atomic.Int32
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/org/hubbed-GGUF/resolve/main/hubbed.gguf" {
			http.NotFound(w, r)
			return
		}
		if r.Method == http.MethodGet {
			downloads.Add(1)
			time.Sleep(200 * time.Millisecond) // long enough for the requests to pile up
		}
		http.ServeContent(w, r, "hubbed.gguf", time.Unix(1_700_000_000, 0), bytes.NewReader(gguf))
	}))
	defer hub.Close()
	t.Setenv("HF_ENDPOINT", hub.URL)
	t.Setenv("HF_TOKEN", "")

	dir := t.TempDir()
	catalog := "models:\n  - {name: hubbed, kind: embedding, source: {repo: org/hubbed-GGUF, file: hubbed.gguf}}\n"
	sp := serveCatalog(t, false, dir, catalog, "--offline=false", "--embedding-model", "", "--reranker-model", "")

	m := models["hubbed"]
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			text := texts[i%len(texts)]
			var resp api.OpenAIEmbeddingResponse
			if r := sp.post(t, "/v1/embeddings", map[string]any{"model": "hubbed", "input": text}, &resp); r.StatusCode != http.StatusOK {
				t.Errorf("request %d: status %d", i, r.StatusCode)
				return
			}
			if d := maxAbsDiff(t, floats(t, resp.Data[0].Embedding), m.expectedEmbedding(m.ids(text), 0)); d > tolerance {
				t.Errorf("request %d: off by %.2e", i, d)
			}
		}()
	}
	wg.Wait()
	if n := downloads.Load(); n != 1 {
		t.Errorf("the hub saw %d downloads, want 1", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "hubbed.gguf")); err != nil {
		t.Errorf("the pulled model is not in the models dir: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".partial") || strings.HasSuffix(e.Name(), ".lock") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}
