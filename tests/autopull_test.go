package tests

import (
	"bytes"
	"encoding/json"
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
	// 200 ms is long enough for the requests to pile up.
	downloads := serveFromHub(t, "org/hubbed-GGUF", "hubbed.gguf", gguf, 200*time.Millisecond)

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

// serveFromHub serves data as file of repo on a fake Hugging Face hub,
// each GET after delay, for the binaries the test starts (HF_ENDPOINT),
// and counts the GETs.
func serveFromHub(t *testing.T, repo, file string, data []byte, delay time.Duration) *atomic.Int32 {
	t.Helper()
	var downloads atomic.Int32
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/"+repo+"/resolve/main/"+file {
			http.NotFound(w, r)
			return
		}
		if r.Method == http.MethodGet {
			downloads.Add(1)
			time.Sleep(delay)
		}
		http.ServeContent(w, r, file, time.Unix(1_700_000_000, 0), bytes.NewReader(data))
	}))
	t.Cleanup(hub.Close)
	t.Setenv("HF_ENDPOINT", hub.URL)
	t.Setenv("HF_TOKEN", "")
	return &downloads
}

// embed of a catalog model that is not on disk waits for its download,
// however long it takes, showing pull's progress bar; it used to give up
// after the server's 30 s and kill the download.
func TestCLIEmbedWaitsForTheDownload(t *testing.T) {
	src := t.TempDir()
	models, err := writeModels(src, map[string]testmodel.Config{"hubbed": testmodel.Tiny(62, "cls")})
	if err != nil {
		t.Fatal(err)
	}
	gguf, err := os.ReadFile(filepath.Join(src, "hubbed.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	downloads := serveFromHub(t, "org/hubbed-GGUF", "hubbed.gguf", gguf, time.Second)
	dir := t.TempDir()
	config := filepath.Join(dir, "models.yaml")
	catalog := "models:\n  - {name: hubbed, kind: embedding, source: {repo: org/hubbed-GGUF, file: hubbed.gguf}}\n"
	if err := os.WriteFile(config, []byte(catalog), 0o644); err != nil {
		t.Fatal(err)
	}

	res := runCLI(t, "embed", "--models-dir", dir, "--models-config", config, "--threads", "2", "--model", "hubbed", texts[1])
	var out api.OpenAIEmbeddingResponse
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil || len(out.Data) != 1 {
		t.Fatalf("embed: exit %d, %v; stderr:\n%s", res.code, err, tail(res.stderr))
	}
	m := models["hubbed"]
	if d := maxAbsDiff(t, floats(t, out.Data[0].Embedding), m.expectedEmbedding(m.ids(texts[1]), 0)); d > tolerance {
		t.Errorf("off by %.2e", d)
	}
	if !strings.Contains(res.stderr, "downloading hubbed.gguf from org/hubbed-GGUF") || !strings.Contains(res.stderr, "hubbed.gguf  100%") {
		t.Errorf("stderr shows no download progress:\n%s", tail(res.stderr))
	}
	if n := downloads.Load(); n != 1 {
		t.Errorf("the hub saw %d downloads, want 1", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "hubbed.gguf")); err != nil {
		t.Errorf("the pulled model is not in the models dir: %v", err)
	}
}
