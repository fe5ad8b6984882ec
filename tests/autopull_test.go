package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
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

// With --pull-on-request catalog, a catalog model that is not on disk is
// downloaded on its first request from the hub named by HF_ENDPOINT;
// concurrent first requests share one download and all get their
// embeddings.
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
	sp := serveCatalog(t, false, dir, catalog, "--offline=false", "--pull-on-request", "catalog", "--embedding-model", "", "--reranker-model", "")

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

// Which missing models a request may have the server pull is the operator's
// choice: by default only the default models (pulled when the server
// starts), with catalog any catalog model, with never none. A refused
// request gets a 503 saying how to pull the model, and the hub sees nothing.
func TestPullOnRequestPolicy(t *testing.T) {
	src := t.TempDir()
	models, err := writeModels(src, map[string]testmodel.Config{"def": testmodel.Tiny(63, "cls"), "other": testmodel.Tiny(64, "mean")})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	gets := map[string]int{}
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gets["any"]++
		mu.Unlock()
		name := strings.TrimSuffix(filepath.Base(r.URL.Path), ".gguf")
		if r.URL.Path != "/org/"+name+"-GGUF/resolve/main/"+name+".gguf" || models[name] == nil {
			http.NotFound(w, r)
			return
		}
		if r.Method == http.MethodGet {
			mu.Lock()
			gets[name]++
			mu.Unlock()
		}
		http.ServeFile(w, r, filepath.Join(src, name+".gguf"))
	}))
	defer hub.Close()
	t.Setenv("HF_ENDPOINT", hub.URL)
	t.Setenv("HF_TOKEN", "")
	catalog := "models:\n" +
		"  - {name: def, kind: embedding, source: {repo: org/def-GGUF, file: def.gguf}}\n" +
		"  - {name: other, kind: embedding, source: {repo: org/other-GGUF, file: other.gguf}}\n"

	for _, policy := range []string{"", "never", "catalog"} {
		t.Run("policy "+policy, func(t *testing.T) {
			mu.Lock()
			clear(gets)
			mu.Unlock()
			args := []string{"--offline=false", "--embedding-model", "def", "--reranker-model", ""}
			if policy != "" {
				args = append(args, "--pull-on-request", policy)
			}
			sp := serveCatalog(t, true, t.TempDir(), catalog, args...)
			var out api.OpenAIEmbeddingResponse
			if r := sp.post(t, "/v1/embeddings", map[string]any{"model": "def", "input": texts[0]}, &out); r.StatusCode != http.StatusOK {
				t.Fatalf("def: status %d", r.StatusCode)
			}
			var raw map[string]any
			r := sp.post(t, "/v1/embeddings", map[string]any{"model": "other", "input": texts[0]}, &raw)
			mu.Lock()
			defer mu.Unlock()
			if gets["def"] != 1 {
				t.Errorf("the default model was downloaded %d times, want once (at start)", gets["def"])
			}
			if policy == "catalog" {
				if r.StatusCode != http.StatusOK || gets["other"] != 1 {
					t.Errorf("other: status %d, %d downloads; want 200 after one", r.StatusCode, gets["other"])
				}
				// Only catalog models: a repo id the catalog does not
				// list is not looked for on the hub.
				before := gets["any"]
				mu.Unlock()
				r := sp.post(t, "/v1/embeddings", map[string]any{"model": "org/stranger-GGUF", "input": "x"}, nil)
				mu.Lock()
				if r.StatusCode != http.StatusNotFound || gets["any"] != before {
					t.Errorf("a repo outside the catalog: status %d, %d hub requests; want 404 and none", r.StatusCode, gets["any"]-before)
				}
				return
			}
			msg := fmt.Sprint(raw["error"])
			if r.StatusCode != http.StatusServiceUnavailable || !strings.Contains(msg, "run: rerank-api pull other") || gets["other"] != 0 {
				t.Errorf("other: status %d, %d downloads, %s; want a 503 saying how to pull it and no download", r.StatusCode, gets["other"], msg)
			}
		})
	}
}
