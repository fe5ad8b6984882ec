package tests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// modelRoutes are a request of every route family that names a model, with
// the name left as %s (a JSON string, quotes included).
var modelRoutes = []struct{ path, body string }{
	{"/v1/embeddings", `{"model": %s, "input": "hello"}`},
	{"/embed", `{"model": %s, "inputs": "hello"}`},
	{"/embed_all", `{"model": %s, "inputs": "hello"}`},
	{"/tokenize", `{"model": %s, "inputs": "hello"}`},
	{"/rerank", `{"model": %s, "query": "q", "texts": ["a"]}`},
	{"/v1/rerank", `{"model": %s, "query": "q", "documents": ["a"]}`},
	{"/v2/rerank", `{"model": %s, "query": "q", "documents": ["a"]}`},
	{"/v1/embed", `{"model": %s, "texts": ["hello"], "input_type": "search_query"}`},
	{"/v2/embed", `{"model": %s, "texts": ["hello"], "input_type": "search_query", "embedding_types": ["float"]}`},
	{"/api/embed", `{"model": %s, "input": "hello"}`},
	{"/api/embeddings", `{"model": %s, "prompt": "hello"}`},
	{"/api/show", `{"model": %s}`},
}

// A model name in a request is looked up in the catalog and nothing else:
// names that are paths (relative, absolute, URL-encoded, with backslashes
// or NUL), look-alikes of a catalog name and very long names get a short
// 404 on every route, and no file outside the models dir is opened. A
// symlink the operator put in the models dir is followed (see catalog's
// paths.go for why).
func TestRequestModelNamesStayInTheModelsDir(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	inside, err := writeModels(dir, map[string]testmodel.Config{"tiny": testmodel.Tiny(71, "cls")})
	if err != nil {
		t.Fatal(err)
	}
	elsewhere, err := writeModels(outside, map[string]testmodel.Config{"secret": testmodel.Tiny(72, "mean")})
	if err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(outside, "secret.gguf")
	if err := os.Symlink(secret, filepath.Join(dir, "linked.gguf")); err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(dir, strings.TrimSuffix(secret, ".gguf"))
	catalog := "models:\n" +
		"  - {name: tiny, kind: embedding, file: tiny.gguf, repo: Test-Org/tiny-k}\n" +
		"  - {name: linked, kind: embedding, file: linked.gguf}\n"
	sp := serveCatalog(t, true, dir, catalog, "--embedding-model", "tiny", "--reranker-model", "")

	names := []string{
		rel, rel + ".gguf", secret, strings.TrimSuffix(secret, ".gguf"),
		"../tiny", "./tiny", "tiny.gguf", "/tiny", "tiny/", "tiny\x00", "tiny\x00../../secret",
		strings.ReplaceAll(rel, "/", "%2f"), "%2e%2e%2ftiny", "%74iny", strings.ReplaceAll(rel, "/", `\`), `..\tiny`,
		"ｔｉｎｙ", "t\u0456ny", "tiny\u200b", "Test-Org/tiny-\u212a", "Test-Org\u2215tiny-k", "test-org/tiny-k/../tiny",
		".", "..", strings.Repeat("../", 2000) + "etc/passwd", strings.Repeat("x", 100_000),
	}
	for _, name := range names {
		quoted, _ := json.Marshal(name)
		for _, r := range modelRoutes {
			resp, raw := sp.requestWithHeaders(t, http.MethodPost, r.path, fmt.Sprintf(r.body, quoted))
			if resp.StatusCode != http.StatusNotFound || !json.Valid(raw) || len(raw) > 1000 {
				t.Errorf("%s with model %.60q: %d, %d bytes %.200s; want a short JSON 404", r.path, name, resp.StatusCode, len(raw), raw)
			}
		}
	}

	// The catalog's own names still work, the repo id in any ASCII case.
	for _, name := range []string{"tiny", "test-org/TINY-K"} {
		var out api.OpenAIEmbeddingResponse
		if resp := sp.post(t, "/v1/embeddings", map[string]any{"model": name, "input": texts[0]}, &out); resp.StatusCode != http.StatusOK {
			t.Fatalf("model %q: %d", name, resp.StatusCode)
		}
		m := inside["tiny"]
		if d := maxAbsDiff(t, floats(t, out.Data[0].Embedding), m.expectedEmbedding(m.ids(texts[0]), 0)); d > tolerance {
			t.Errorf("model %q: off by %.2e", name, d)
		}
	}
	// The operator's symlink is followed to the model it points at.
	var out api.OpenAIEmbeddingResponse
	if resp := sp.post(t, "/v1/embeddings", map[string]any{"model": "linked", "input": texts[1]}, &out); resp.StatusCode != http.StatusOK {
		t.Fatalf("linked: %d", resp.StatusCode)
	}
	m := elsewhere["secret"]
	if d := maxAbsDiff(t, floats(t, out.Data[0].Embedding), m.expectedEmbedding(m.ids(texts[1]), 0)); d > tolerance {
		t.Errorf("linked: off by %.2e", d)
	}

	// Only tiny and linked were ever loaded, from inside the models dir.
	loads := 0
	for _, line := range logLines(t, sp) {
		if line["message"] != "loading model" {
			continue
		}
		loads++
		if p, _ := line["path"].(string); filepath.Dir(p) != dir {
			t.Errorf("loaded %s, outside the models dir", p)
		}
	}
	if loads != 2 {
		t.Errorf("%d models loaded, want 2 (tiny and linked)", loads)
	}
}

// A catalog whose relative file: leaves the models dir is refused at start,
// with the entry named.
func TestCatalogFileOutsideTheModelsDirIsRefused(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "models.yaml")
	if err := os.WriteFile(config, []byte("models:\n  - {name: m, kind: embedding, file: ../elsewhere/m.gguf}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := runCLI(t, "serve", "--models-dir", dir, "--models-config", config, "--offline", "--embedding-model", "m", "--reranker-model", "", "--port", "0")
	if res.code != 1 || !strings.Contains(res.stderr, `model "m": file "../elsewhere/m.gguf" leaves the models dir`) {
		t.Errorf("exit %d, stderr:\n%s", res.code, tail(res.stderr))
	}
}

// logLines decodes the server's JSON log so far.
func logLines(t *testing.T, sp *serverProcess) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(sp.stderr.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil {
			out = append(out, line)
		}
	}
	return out
}

// authHub is a hub on 127.0.0.1 that wants a token and answers each GGUF
// with a redirect: to its CDN (127.0.0.1 on another port, a host downloads
// may come from, but not one the token may go to), or, for foreign.gguf, to
// a server on "localhost", a host name downloads may not come from.
type authHub struct {
	hub, cdn, foreign *httptest.Server

	mu          sync.Mutex
	cdnAuth     []string
	foreignSeen int // requests the foreign host saw
}

func newAuthHub(t *testing.T, token, dir string) *authHub {
	t.Helper()
	h := &authHub{}
	h.cdn = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.cdnAuth = append(h.cdnAuth, r.Header.Get("Authorization"))
		h.mu.Unlock()
		http.ServeFile(w, r, filepath.Join(dir, filepath.Base(r.URL.Path)))
	}))
	t.Cleanup(h.cdn.Close)
	h.foreign = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.foreignSeen++
		h.mu.Unlock()
		http.ServeFile(w, r, filepath.Join(dir, "pulled.gguf"))
	}))
	t.Cleanup(h.foreign.Close)
	h.hub = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "Invalid credentials", http.StatusUnauthorized)
			return
		}
		file := filepath.Base(r.URL.Path)
		if file == "foreign.gguf" {
			_, port, _ := net.SplitHostPort(h.foreign.Listener.Addr().String())
			http.Redirect(w, r, "http://localhost:"+port+"/pulled.gguf", http.StatusFound)
			return
		}
		http.Redirect(w, r, h.cdn.URL+"/"+file, http.StatusFound)
	}))
	t.Cleanup(h.hub.Close)
	t.Setenv("HF_ENDPOINT", h.hub.URL)
	t.Setenv("HF_TOKEN", token)
	return h
}

// Neither HF_TOKEN nor an API key, right or wrong, appears in the server's
// log (at debug level) or in pull's output, through an authenticated pull
// and requests with keys; the token reaches the hub but not the CDN it
// redirects to, and a redirect to a foreign host is not followed.
func TestSecretsStayOutOfTheLog(t *testing.T) {
	const token, key, wrongKey = "hf_tokenSECRET1234", "sk-keySECRET5678", "sk-wrongSECRET9012"
	src := t.TempDir()
	models, err := writeModels(src, map[string]testmodel.Config{"pulled": testmodel.Tiny(73, "cls")})
	if err != nil {
		t.Fatal(err)
	}
	h := newAuthHub(t, token, src)
	catalog := "models:\n" +
		"  - {name: pulled, kind: embedding, source: {repo: org/pulled-GGUF, file: pulled.gguf}}\n" +
		"  - {name: foreign, kind: embedding, source: {repo: org/foreign-GGUF, file: foreign.gguf}}\n"
	dir := t.TempDir()
	sp := serveCatalog(t, false, dir, catalog, "--offline=false", "--pull-on-request", "catalog", "--log-level", "debug",
		"--embedding-model", "", "--reranker-model", "", "--api-key", key)

	body := fmt.Sprintf(`{"model": "pulled", "input": %q}`, texts[0])
	resp, raw := sp.requestWithHeaders(t, http.MethodPost, "/v1/embeddings", body, "Authorization", "Bearer "+key)
	var out api.OpenAIEmbeddingResponse
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &out) != nil {
		t.Fatalf("authenticated pull: %d %s", resp.StatusCode, raw)
	}
	m := models["pulled"]
	if d := maxAbsDiff(t, floats(t, out.Data[0].Embedding), m.expectedEmbedding(m.ids(texts[0]), 0)); d > tolerance {
		t.Errorf("off by %.2e", d)
	}
	if resp, _ := sp.requestWithHeaders(t, http.MethodPost, "/v1/embeddings", body, "x-api-key", key); resp.StatusCode != http.StatusOK {
		t.Errorf("x-api-key: %d", resp.StatusCode)
	}
	for _, header := range []string{"Authorization", "x-api-key"} {
		value := wrongKey
		if header == "Authorization" {
			value = "Bearer " + wrongKey
		}
		if resp, _ := sp.requestWithHeaders(t, http.MethodPost, "/v1/embeddings", body, header, value); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("wrong key in %s: %d, want 401", header, resp.StatusCode)
		}
	}
	resp, raw = sp.requestWithHeaders(t, http.MethodPost, "/v1/embeddings", `{"model": "foreign", "input": "x"}`, "Authorization", "Bearer "+key)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(raw), "not following it") {
		t.Errorf("a redirect to a foreign host: %d %s; want 503 saying it was not followed", resp.StatusCode, raw)
	}
	if err := sp.stop(); err != nil {
		t.Fatal(err)
	}

	pull := runCLI(t, "pull", "--models-dir", t.TempDir(), "--models-config", filepath.Join(dir, "models.yaml"), "--log-level", "debug", "pulled")
	if pull.code != 0 {
		t.Fatalf("pull: exit %d\n%s", pull.code, tail(pull.stderr))
	}
	for what, text := range map[string]string{"the server's log": sp.stderr.String(), "pull's output": pull.stdout + pull.stderr} {
		for _, secret := range []string{token, key, wrongKey, "SECRET"} {
			if strings.Contains(text, secret) {
				t.Errorf("%s holds %q:\n%s", what, secret, tail(text))
			}
		}
	}
	if !strings.Contains(sp.stderr.String(), `"status":401`) {
		t.Errorf("the server's log has no 401 request line; is it the log of this run?\n%s", tail(sp.stderr.String()))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.cdnAuth) < 2 {
		t.Errorf("the CDN saw %d downloads, want the server's and pull's", len(h.cdnAuth))
	}
	for _, a := range h.cdnAuth {
		if a != "" {
			t.Errorf("the token went to the CDN: %q", a)
		}
	}
	if h.foreignSeen != 0 {
		t.Errorf("the foreign host was reached %d times", h.foreignSeen)
	}
}
