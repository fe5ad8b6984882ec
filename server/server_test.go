package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/catalog"
)

// fakeEngine records requests and answers with deterministic vectors:
// vector i is vectorFor(i, dims).
type fakeEngine struct {
	mu       sync.Mutex
	requests []backend.EmbedRequest
	contexts []context.Context
	// embed, when set, replaces the default answer.
	embed    func(ctx context.Context, req backend.EmbedRequest) (*backend.EmbedResult, error)
	models   []backend.ModelStatus
	readyErr error
	// rerankRequests records Rerank calls; rerank, when set, replaces the
	// default answer (see fakeRerank).
	rerankRequests []backend.RerankRequest
	rerank         func(ctx context.Context, req backend.RerankRequest) (*backend.RerankResult, error)
	// tokenizeRequests records Tokenize calls; tokenize, when set,
	// replaces the default answer (one token per byte).
	tokenizeRequests []backend.TokenizeRequest
	tokenize         func(ctx context.Context, req backend.TokenizeRequest) (*backend.TokenizeResult, error)
	decodeRequests   []backend.DecodeRequest
	// outputsRequests records EmbedOutputs calls (embed_sparse_test.go).
	outputsRequests []backend.OutputsRequest
}

const fakeDims = 4

func vectorFor(i, dims int) []float32 {
	v := make([]float32, dims)
	for j := range v {
		// Values that JSON cannot print exactly as short decimals, so the
		// base64 test compares real float32 bits.
		v[j] = float32(i+1)/3 - float32(j)*0.1
	}
	return v
}

func (f *fakeEngine) Embed(ctx context.Context, req backend.EmbedRequest) (*backend.EmbedResult, error) {
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.contexts = append(f.contexts, ctx)
	f.mu.Unlock()
	if f.embed != nil {
		return f.embed(ctx, req)
	}
	dims := fakeDims
	if req.Dimensions > 0 {
		dims = req.Dimensions
	}
	res := &backend.EmbedResult{Model: req.Model, PromptTokens: 7 * len(req.Inputs)}
	if res.Model == "" {
		res.Model = "default-embedder"
	}
	for i := range req.Inputs {
		res.Vectors = append(res.Vectors, vectorFor(i, dims))
	}
	return res, nil
}

func (f *fakeEngine) Rerank(ctx context.Context, req backend.RerankRequest) (*backend.RerankResult, error) {
	f.mu.Lock()
	f.rerankRequests = append(f.rerankRequests, req)
	f.contexts = append(f.contexts, ctx)
	f.mu.Unlock()
	if f.rerank != nil {
		return f.rerank(ctx, req)
	}
	return fakeRerank(req), nil
}

func (f *fakeEngine) Tokenize(ctx context.Context, req backend.TokenizeRequest) (*backend.TokenizeResult, error) {
	f.mu.Lock()
	f.tokenizeRequests = append(f.tokenizeRequests, req)
	f.mu.Unlock()
	if f.tokenize != nil {
		return f.tokenize(ctx, req)
	}
	res := &backend.TokenizeResult{Model: "default-embedder"}
	for _, text := range req.Inputs {
		var toks []backend.Token
		if req.AddSpecial {
			toks = append(toks, backend.Token{ID: 101, Text: "[CLS]", Special: true, Start: -1, Stop: -1})
		}
		for i := range len(text) {
			toks = append(toks, backend.Token{ID: int32(text[i]), Text: text[i : i+1], Start: i, Stop: i + 1})
		}
		res.Tokens = append(res.Tokens, toks)
	}
	return res, nil
}

// Decode answers each list with its ids joined by "-", and refuses ids of
// 1000 and more as outside its vocabulary.
func (f *fakeEngine) Decode(_ context.Context, req backend.DecodeRequest) (*backend.DecodeResult, error) {
	f.mu.Lock()
	f.decodeRequests = append(f.decodeRequests, req)
	f.mu.Unlock()
	res := &backend.DecodeResult{Model: "default-embedder"}
	for _, ids := range req.Inputs {
		words := make([]string, len(ids))
		for i, id := range ids {
			if id >= 1000 {
				return nil, fmt.Errorf("%w: token id %d is outside the model's vocabulary [0, 1000)", backend.ErrInvalidInput, id)
			}
			words[i] = fmt.Sprint(id)
		}
		res.Texts = append(res.Texts, strings.Join(words, "-"))
	}
	return res, nil
}

func (f *fakeEngine) Models() []backend.ModelStatus { return f.models }

func (f *fakeEngine) Ready(context.Context) error { return f.readyErr }

// lastRequest returns the only request the engine saw.
func (f *fakeEngine) lastRequest(t *testing.T) backend.EmbedRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) != 1 {
		t.Fatalf("engine saw %d requests, want 1", len(f.requests))
	}
	return f.requests[0]
}

// do sends one request; headers come in name, value pairs.
func do(t *testing.T, h http.Handler, method, path, body string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("response is not valid JSON (%v): %s", err, rec.Body)
	}
	return v
}

// openAIErrorBody decodes the error envelope, keeping param and code as raw
// JSON so a test can tell null from a string.
type openAIErrorBody struct {
	Error struct {
		Message string          `json:"message"`
		Type    string          `json:"type"`
		Param   json.RawMessage `json:"param"`
		Code    json.RawMessage `json:"code"`
	} `json:"error"`
}

func newTestServer(engine *fakeEngine, cfg Config) http.Handler {
	return New(engine, cfg, zerolog.Nop())
}

func TestHealth(t *testing.T) {
	h := newTestServer(&fakeEngine{}, Config{})
	rec := do(t, h, http.MethodGet, "/health", "")
	if rec.Code != http.StatusOK || decode[api.Health](t, rec).Status != "ok" {
		t.Fatalf("GET /health = %d %s", rec.Code, rec.Body)
	}
}

func TestReady(t *testing.T) {
	engine := &fakeEngine{}
	h := newTestServer(engine, Config{})
	rec := do(t, h, http.MethodGet, "/ready", "")
	if rec.Code != http.StatusOK || decode[api.Health](t, rec).Status != "ready" {
		t.Fatalf("GET /ready = %d %s", rec.Code, rec.Body)
	}

	engine.readyErr = errors.New(`model "bge-m3" is not downloaded; run: rerank-api pull bge-m3`)
	rec = do(t, h, http.MethodGet, "/ready", "")
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("GET /ready when not ready = %d, want 503", rec.Code)
	}
	if rec.Header().Get("Retry-After") == "" {
		t.Error("503 from /ready has no Retry-After")
	}
	got := decode[api.Health](t, rec)
	if got.Status != "unavailable" || got.Error != engine.readyErr.Error() {
		t.Errorf("body = %+v, want status unavailable and the engine's reason", got)
	}
}

func TestModels(t *testing.T) {
	engine := &fakeEngine{models: []backend.ModelStatus{
		{Entry: catalog.Entry{Name: "bge-m3", Repo: "BAAI/bge-m3", Kind: catalog.KindEmbedding, Dimensions: 1024,
			MaxLength: 8192, License: "MIT", Description: "multilingual"}, Downloaded: true, Loaded: true},
		{Entry: catalog.Entry{Name: "local", Kind: catalog.KindRerank}},
		{Entry: catalog.Entry{Name: "nv-embed-v2", Repo: "nvidia/NV-Embed-v2", Kind: catalog.KindEmbedding,
			Status: catalog.StatusUnsupported, Reason: "latent-attention pooling"}},
	}}
	h := newTestServer(engine, Config{})

	t.Run("openai", func(t *testing.T) {
		rec := do(t, h, http.MethodGet, "/v1/models", "")
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		got := decode[api.OpenAIModelList](t, rec)
		want := api.OpenAIModelList{Object: "list", Data: []api.OpenAIModel{
			{ID: "bge-m3", Object: "model", OwnedBy: "BAAI"},
			{ID: "local", Object: "model", OwnedBy: "rerank-api"},
		}}
		if !jsonEqual(t, got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})

	t.Run("catalog", func(t *testing.T) {
		rec := do(t, h, http.MethodGet, "/models", "")
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		// Decoded loosely, to check the JSON field names themselves.
		type looseList struct {
			Object string           `json:"object"`
			Data   []map[string]any `json:"data"`
		}
		got := decode[looseList](t, rec)
		if got.Object != "list" || len(got.Data) != 3 {
			t.Fatalf("got %s, want a list of 3", rec.Body)
		}
		first := got.Data[0]
		for key, want := range map[string]any{"name": "bge-m3", "kind": "embedding", "dimensions": 1024.0,
			"max_length": 8192.0, "license": "MIT", "description": "multilingual", "downloaded": true, "loaded": true} {
			if first[key] != want {
				t.Errorf("models[0].%s = %v, want %v", key, first[key], want)
			}
		}
		if got.Data[2]["status"] != "unsupported" || got.Data[2]["reason"] != "latent-attention pooling" {
			t.Errorf("unsupported entry lost its status or reason: %v", got.Data[2])
		}
	})

	t.Run("empty", func(t *testing.T) {
		h := newTestServer(&fakeEngine{}, Config{})
		for _, path := range []string{"/models", "/v1/models"} {
			rec := do(t, h, http.MethodGet, path, "")
			if !strings.Contains(rec.Body.String(), `"data":[]`) {
				t.Errorf("GET %s with no models = %s, want an empty data array", path, rec.Body)
			}
		}
	})
}

func jsonEqual(t *testing.T, a, b any) bool {
	t.Helper()
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		t.Fatalf("marshal: %v %v", err1, err2)
	}
	return bytes.Equal(x, y)
}

func TestUnknownRouteAndMethod(t *testing.T) {
	h := newTestServer(&fakeEngine{}, Config{})
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string // a 405's Allow header
		inBody       string // the route's error envelope
	}{
		{http.MethodGet, "/nope", http.StatusNotFound, "", `"type":"not_found_error"`},
		{http.MethodPost, "/v1/chat/completions", http.StatusNotFound, "", `POST /v1/embeddings, POST /embeddings`},
		{http.MethodGet, "/v1/embeddings", http.StatusMethodNotAllowed, "POST", `"type":"invalid_request_error"`},
		{http.MethodPost, "/health", http.StatusMethodNotAllowed, "GET, HEAD", `send GET or HEAD`},
		// A 405 speaks its route's envelope, as the route's clients read it.
		{http.MethodGet, "/embed", http.StatusMethodNotAllowed, "POST", `"error_type":"Validation"`},
		{http.MethodDelete, "/v1/rerank", http.StatusMethodNotAllowed, "POST", `"message":"DELETE is not allowed`},
	} {
		rec := do(t, h, tc.method, tc.path, "")
		if rec.Code != tc.status || rec.Header().Get("Allow") != tc.allow || !strings.Contains(rec.Body.String(), tc.inBody) {
			t.Errorf("%s %s = %d, Allow %q, %s; want %d, Allow %q, %s", tc.method, tc.path,
				rec.Code, rec.Header().Get("Allow"), rec.Body, tc.status, tc.allow, tc.inBody)
		}
	}
	// A path that is not clean is served, not redirected: a client
	// following a 301 sends the POST again as a GET.
	for _, path := range []string{"//v1/embeddings", "/v1/embeddings/", "/x/../v1//embeddings"} {
		if rec := do(t, h, http.MethodPost, path, `{"input": "hi"}`); rec.Code != http.StatusOK {
			t.Errorf("POST %s = %d %s", path, rec.Code, rec.Body)
		}
	}
}

func TestPanicBecomes500(t *testing.T) {
	engine := &fakeEngine{embed: func(context.Context, backend.EmbedRequest) (*backend.EmbedResult, error) {
		panic("boom")
	}}
	var logs bytes.Buffer
	h := New(engine, Config{}, zerolog.New(&logs))

	rec := do(t, h, http.MethodPost, "/v1/embeddings", `{"input":"a"}`)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", rec.Code)
	}
	if got := decode[openAIErrorBody](t, rec); got.Error.Type != "server_error" {
		t.Errorf("error = %+v, want a server_error", got.Error)
	}
	if !strings.Contains(logs.String(), "boom") {
		t.Errorf("the panic was not logged: %s", logs.String())
	}

	rec = do(t, h, http.MethodPost, "/embed", `{"inputs":"a"}`)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("TEI status %d, want 500", rec.Code)
	}
	if got := decode[api.TEIError](t, rec); got.ErrorType != "Backend" {
		t.Errorf("TEI error = %+v, want error_type Backend", got)
	}
}

func TestRequestIDAndLogLine(t *testing.T) {
	var logs bytes.Buffer
	engine := &fakeEngine{embed: func(_ context.Context, req backend.EmbedRequest) (*backend.EmbedResult, error) {
		return &backend.EmbedResult{Model: "bge-m3", Vectors: [][]float32{{1}, {2}}, PromptTokens: 11,
			Stats: backend.BatchStats{Batches: 1}}, nil
	}}
	h := New(engine, Config{}, zerolog.New(&logs))

	rec := do(t, h, http.MethodPost, "/v1/embeddings", `{"input":["a","b"],"model":"bge-m3"}`, "X-Request-Id", "abc-123")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if got := rec.Header().Get("X-Request-Id"); got != "abc-123" {
		t.Errorf("X-Request-Id = %q, want the client's abc-123", got)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one log line per request, got %d:\n%s", len(lines), logs.String())
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]any{"level": "info", "id": "abc-123", "method": "POST",
		"route": "/v1/embeddings", "status": 200.0, "model": "bge-m3", "inputs": 2.0, "tokens": 11.0, "batches": 1.0} {
		if line[key] != want {
			t.Errorf("log %s = %v, want %v (line %s)", key, line[key], want, lines[0])
		}
	}
	if _, ok := line["duration_ms"]; !ok {
		t.Errorf("log line has no duration_ms: %s", lines[0])
	}

	rec = do(t, h, http.MethodGet, "/health", "")
	if id := rec.Header().Get("X-Request-Id"); len(id) != 32 {
		t.Errorf("generated X-Request-Id = %q, want 32 hex digits", id)
	}
	rec = do(t, h, http.MethodGet, "/health", "", "X-Request-Id", "bad\nid")
	if id := rec.Header().Get("X-Request-Id"); id == "bad\nid" || len(id) != 32 {
		t.Errorf("a control character in X-Request-Id should be replaced, got %q", id)
	}
}

func TestEngineGetsRequestContext(t *testing.T) {
	engine := &fakeEngine{}
	h := newTestServer(engine, Config{})
	type key struct{}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "mine"))
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/embeddings", strings.NewReader(`{"input":"a"}`))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(httptest.NewRecorder(), req)
	cancel()
	if len(engine.contexts) != 1 || engine.contexts[0].Value(key{}) != "mine" {
		t.Fatal("the engine did not get the request's context")
	}
	if engine.contexts[0].Err() == nil {
		t.Error("cancelling the request did not cancel the engine's context")
	}
}
