package server

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/rerank-api/rerank-api/backend"
)

// A model route's answer carries TEI's x-compute-tokens and timing headers,
// from the engine's own counts; routes that run no model and errors carry
// none.
func TestComputeHeaders(t *testing.T) {
	engine := &fakeEngine{embed: func(_ context.Context, req backend.EmbedRequest) (*backend.EmbedResult, error) {
		return &backend.EmbedResult{Model: "bge-m3", PromptTokens: 19, Vectors: [][]float32{vectorFor(0, fakeDims), vectorFor(1, fakeDims)},
			Stats: backend.BatchStats{Wait: 12 * time.Millisecond, Compute: 34 * time.Millisecond, Batches: 1}}, nil
	}}
	h := newTestServer(engine, Config{})
	for _, path := range []string{"/embed", "/v1/embeddings"} {
		body := `{"inputs":["a","b"]}`
		if path == "/v1/embeddings" {
			body = `{"model":"bge-m3","input":["a","b"]}`
		}
		rec := do(t, h, http.MethodPost, path, body)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
		for header, want := range map[string]string{"X-Compute-Tokens": "19", "X-Queue-Time": "12", "X-Inference-Time": "34"} {
			if got := rec.Header().Get(header); got != want {
				t.Errorf("%s: %s = %q, want %q", path, header, got, want)
			}
		}
		if rec.Header().Get("X-Total-Time") == "" {
			t.Errorf("%s: no X-Total-Time", path)
		}
	}
	if rec := do(t, h, http.MethodGet, "/health", ""); rec.Header().Get("X-Compute-Tokens") != "" {
		t.Errorf("/health carries X-Compute-Tokens")
	}
	if rec := do(t, h, http.MethodPost, "/embed", `{"inputs":[]}`); rec.Code != http.StatusBadRequest || rec.Header().Get("X-Compute-Tokens") != "" {
		t.Errorf("an error: %d with X-Compute-Tokens %q", rec.Code, rec.Header().Get("X-Compute-Tokens"))
	}
}
