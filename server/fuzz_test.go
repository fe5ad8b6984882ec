package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/backend"
)

// fuzzEngine answers as fakeEngine does, each call on a fresh one so that
// nothing is recorded (a fuzz run sends millions), and refuses what a real
// model would: more dimensions than it has.
type fuzzEngine struct{ models []backend.ModelStatus }

func (fuzzEngine) EmbedOutputs(ctx context.Context, req backend.OutputsRequest) (*backend.OutputsResult, error) {
	return new(fakeEngine).EmbedOutputs(ctx, req)
}

const fuzzMaxDims = 64

func (fuzzEngine) Embed(ctx context.Context, req backend.EmbedRequest) (*backend.EmbedResult, error) {
	if req.Dimensions > fuzzMaxDims {
		return nil, fmt.Errorf("%w: dimensions %d exceed the model's %d", backend.ErrInvalidInput, req.Dimensions, fuzzMaxDims)
	}
	return new(fakeEngine).Embed(ctx, req)
}

func (fuzzEngine) Rerank(ctx context.Context, req backend.RerankRequest) (*backend.RerankResult, error) {
	return new(fakeEngine).Rerank(ctx, req)
}

func (fuzzEngine) Tokenize(ctx context.Context, req backend.TokenizeRequest) (*backend.TokenizeResult, error) {
	return new(fakeEngine).Tokenize(ctx, req)
}

func (fuzzEngine) EmbedAll(ctx context.Context, req backend.EmbedRequest) (*backend.TokenEmbedResult, error) {
	return new(fakeEngine).EmbedAll(ctx, req)
}

func (fuzzEngine) Similarity(ctx context.Context, req backend.EmbedRequest) (*backend.SimilarityResult, error) {
	return new(fakeEngine).Similarity(ctx, req)
}

func (fuzzEngine) Decode(ctx context.Context, req backend.DecodeRequest) (*backend.DecodeResult, error) {
	return new(fakeEngine).Decode(ctx, req)
}

func (e fuzzEngine) Models() []backend.ModelStatus { return e.models }

func (fuzzEngine) Ready(context.Context) error { return nil }

// fuzzRequests posts bodies to one API family's routes (route picks one)
// with a fuzzed Content-Type, seeded with each seed body on each route.
// Whatever arrives, the server must answer below 500 with a JSON body: a
// decode or validation gap shows up as a panic (recovered as a 500), a
// 500 of its own, or a body that is not JSON.
func fuzzRequests(f *testing.F, routes []string, seeds []string) {
	for i := range routes {
		for _, s := range seeds {
			f.Add(uint8(i), []byte(s), "application/json")
		}
	}
	f.Add(uint8(0), []byte(seeds[0]), "text/plain; charset=utf-8")
	h := New(fuzzEngine{models: ollamaModels(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))},
		Config{MaxClientBatchSize: 32, PayloadLimit: 1 << 20}, zerolog.Nop())
	f.Fuzz(func(t *testing.T, route uint8, body []byte, contentType string) {
		path := routes[int(route)%len(routes)]
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("POST %s %q: %d %s", path, body, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" || !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("POST %s %q: %d with %q body %q, want JSON", path, body, rec.Code, ct, rec.Body)
		}
	})
}

func FuzzOpenAIRequests(f *testing.F) {
	fuzzRequests(f, []string{"/v1/embeddings", "/embeddings"}, []string{
		`{"input": "hello", "model": "bge-m3"}`,
		`{"input": ["a", "b"], "model": "bge-m3", "encoding_format": "base64", "dimensions": 2, "user": "u"}`,
		`{"input": [[1, 2, 3], [4]], "encoding_format": "float"}`,
		`{"input": [1, 2, 3]}`,
		`{"input": []}`,
	})
}

func FuzzCohereRequests(f *testing.F) {
	fuzzRequests(f, []string{"/v1/embed", "/v2/embed", "/v1/rerank", "/v2/rerank"}, []string{
		`{"texts": ["hello"], "model": "bge-m3", "input_type": "search_query", "embedding_types": ["float", "int8", "ubinary", "base64"], "truncate": "END"}`,
		`{"inputs": [{"content": [{"type": "text", "text": "hi"}]}], "input_type": "search_document", "output_dimension": 2}`,
		`{"query": "q", "documents": ["a", "bb", "ccc"], "top_n": 2, "return_documents": true, "max_chunks_per_doc": 3, "max_tokens_per_doc": 40}`,
		`{"query": "q", "documents": [{"text": "a", "title": "t"}, "b"], "rank_fields": ["text"]}`,
	})
}

func FuzzTEIRequests(f *testing.F) {
	fuzzRequests(f, []string{"/embed", "/embed_all", "/embed_sparse", "/embed_colbert", "/rerank", "/tokenize", "/decode", "/similarity"}, []string{
		`{"inputs": "hello", "normalize": true, "truncate": true, "truncation_direction": "Left", "prompt_name": "query", "dimensions": 2}`,
		`{"inputs": ["a", "b"]}`,
		`{"query": "q", "texts": ["a", "ccc", "bb"], "return_text": true, "raw_scores": true, "model": "m"}`,
		`{"inputs": "東京 hello", "add_special_tokens": true, "prompt_name": null}`,
		`{"ids": [[101, 7, 999], [5]], "skip_special_tokens": true}`,
		`{"inputs": {"source_sentence": "a", "sentences": ["b", "c"]}}`,
	})
}

func FuzzOllamaRequests(f *testing.F) {
	fuzzRequests(f, []string{"/api/embed", "/api/embeddings", "/api/show"}, []string{
		`{"model": "bge-m3", "input": ["a", "b"], "truncate": true, "dimensions": 2, "keep_alive": "5m", "options": {"num_ctx": 8}}`,
		`{"model": "bge-m3:latest", "prompt": "hello"}`,
		`{"model": "bge-m3", "input": "hello"}`,
		`{"name": "bge-m3", "verbose": true}`,
	})
}

// Jina's clients speak Cohere's rerank (/v1/rerank, or /rerank with
// documents) and OpenAI's embeddings with Jina's fields.
func FuzzJinaRequests(f *testing.F) {
	fuzzRequests(f, []string{"/v1/rerank", "/rerank", "/v1/embeddings"}, []string{
		`{"model": "jina-reranker-v2-base-multilingual", "query": "q", "documents": ["a", {"text": "b"}], "top_n": 3, "return_documents": true}`,
		`{"model": "jina-embeddings-v3", "task": "retrieval.query", "dimensions": 8, "late_chunking": false, "embedding_type": "float", "input": ["a", {"text": "b"}]}`,
	})
}
