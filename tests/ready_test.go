package tests

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rerank-api/rerank-api/api"
)

// /ready says why a default model cannot serve, not just that it is not
// ready, so an operator sees what to fix: here its file is missing and the
// hub it would be pulled from does not answer.
func TestReadyExplainsAMissingDefault(t *testing.T) {
	t.Setenv("HF_ENDPOINT", "http://127.0.0.1:1") // nothing listens on port 1
	dir := t.TempDir()
	catalog := "models:\n  - {name: absent, kind: embedding, file: absent.gguf, source: {repo: org/absent, file: absent.gguf}}\n"
	sp := serveCatalog(t, false, dir, catalog, "--offline=false", "--embedding-model", "absent", "--reranker-model", "")
	deadline := time.Now().Add(10 * time.Second)
	for {
		var body api.Health
		r := sp.get(t, "/ready", &body)
		if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
			t.Fatalf("/ready: status %d, Retry-After %q; want 503 with Retry-After", r.StatusCode, r.Header.Get("Retry-After"))
		}
		if strings.Contains(body.Error, "pulling") && strings.Contains(body.Error, "absent.gguf") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/ready never said why: %q", body.Error)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
