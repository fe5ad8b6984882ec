package server

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/catalog"
)

func TestOllamaEmbed(t *testing.T) {
	for _, tc := range []struct {
		name         string
		body         string
		wantModel    string // what the engine is asked for
		wantInputs   []backend.Input
		wantTruncate bool
		wantDims     int
	}{
		{"string", `{"model":"bge-m3","input":"hello"}`, "bge-m3", []backend.Input{{Text: "hello"}}, true, 0},
		{"strings, latest", `{"model":"bge-m3:latest","input":["a","b"]}`, "bge-m3", []backend.Input{{Text: "a"}, {Text: "b"}}, true, 0},
		{"hugging face id", `{"model":"BAAI/bge-m3","input":"a"}`, "BAAI/bge-m3", []backend.Input{{Text: "a"}}, true, 0},
		{"truncate false", `{"model":"bge-m3","input":"a","truncate":false}`, "bge-m3", []backend.Input{{Text: "a"}}, false, 0},
		{"dimensions", `{"model":"bge-m3","input":"a","dimensions":2}`, "bge-m3", []backend.Input{{Text: "a"}}, true, 2},
		{"dimensions 0 keeps all", `{"model":"bge-m3","input":"a","dimensions":0}`, "bge-m3", []backend.Input{{Text: "a"}}, true, 0},
		{"ignored fields", `{"model":"bge-m3","input":"a","keep_alive":"5m","options":{"num_ctx":8192}}`, "bge-m3", []backend.Input{{Text: "a"}}, true, 0},
		{"keep_alive number", `{"model":"bge-m3","input":"a","keep_alive":-1}`, "bge-m3", []backend.Input{{Text: "a"}}, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			engine := &fakeEngine{}
			rec := do(t, newTestServer(engine, Config{}), http.MethodPost, "/api/embed", tc.body)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			req := engine.lastRequest(t)
			if req.Model != tc.wantModel || !reflect.DeepEqual(req.Inputs, tc.wantInputs) ||
				req.Truncate != tc.wantTruncate || req.Dimensions != tc.wantDims || req.Normalize != nil {
				t.Errorf("engine request = %+v", req)
			}
			got := decode[api.OllamaEmbedResponse](t, rec)
			if got.PromptEvalCount != 7*len(tc.wantInputs) || got.TotalDuration <= 0 || got.LoadDuration != 0 {
				t.Errorf("response = %s", rec.Body)
			}
			dims := cmp.Or(tc.wantDims, fakeDims)
			for i := range tc.wantInputs {
				if !reflect.DeepEqual(got.Embeddings[i], vectorFor(i, dims)) {
					t.Errorf("embeddings[%d] = %v, want %v", i, got.Embeddings[i], vectorFor(i, dims))
				}
			}
		})
	}
}

func TestOllamaEmbedModelEchoed(t *testing.T) {
	h := newTestServer(&fakeEngine{}, Config{})
	for body, want := range map[string]string{
		`{"model":"bge-m3:latest","input":"a"}`: "bge-m3:latest", // as Ollama, the name as sent
		`{"input":"a"}`:                         "default-embedder",
	} {
		if got := decode[api.OllamaEmbedResponse](t, do(t, h, http.MethodPost, "/api/embed", body)); got.Model != want {
			t.Errorf("%s: model %q, want %q", body, got.Model, want)
		}
	}
}

func TestOllamaNoInputLoadsNothing(t *testing.T) {
	engine := &fakeEngine{models: []backend.ModelStatus{{Entry: catalog.Entry{Name: "bge-m3", Kind: catalog.KindEmbedding}}}}
	h := newTestServer(engine, Config{})
	for _, body := range []string{`{"model":"bge-m3"}`, `{"model":"bge-m3:latest","input":""}`, `{"model":"bge-m3","input":[]}`} {
		rec := do(t, h, http.MethodPost, "/api/embed", body)
		if got := decode[api.OllamaEmbedResponse](t, rec); rec.Code != http.StatusOK || got.Embeddings == nil || len(got.Embeddings) != 0 {
			t.Errorf("%s: status %d, body %s; want 200 and no embeddings", body, rec.Code, rec.Body)
		}
	}
	rec := do(t, h, http.MethodPost, "/api/embeddings", `{"model":"bge-m3","prompt":""}`)
	if rec.Code != http.StatusOK || rec.Body.String() != `{"embedding":[]}`+"\n" {
		t.Errorf("/api/embeddings with no prompt: status %d, body %s", rec.Code, rec.Body)
	}
	rec = do(t, h, http.MethodPost, "/api/embed", `{"model":"nomic-embed-text"}`)
	if got := decode[api.OllamaError](t, rec); rec.Code != http.StatusNotFound || got.Error != "model 'nomic-embed-text' not found" {
		t.Errorf("unknown model without input: status %d, body %s", rec.Code, rec.Body)
	}
	if len(engine.requests) != 0 {
		t.Errorf("the engine saw %d requests, want none", len(engine.requests))
	}
}

func TestOllamaLegacyEmbeddings(t *testing.T) {
	engine := &fakeEngine{}
	rec := do(t, newTestServer(engine, Config{}), http.MethodPost, "/api/embeddings", `{"model":"bge-m3:latest","prompt":"hello","options":{"temperature":0}}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	req := engine.lastRequest(t)
	if req.Model != "bge-m3" || !reflect.DeepEqual(req.Inputs, []backend.Input{{Text: "hello"}}) || !req.Truncate {
		t.Errorf("engine request = %+v", req)
	}
	if got := decode[api.OllamaEmbeddingResponse](t, rec); !reflect.DeepEqual(got.Embedding, vectorFor(0, fakeDims)) {
		t.Errorf("embedding = %v", got.Embedding)
	}
}

func TestOllamaErrors(t *testing.T) {
	for _, tc := range []struct {
		name, method, path, body string
		engineErr                error
		wantStatus               int
		wantError                string // the whole message, or "" to check only that there is one
	}{
		{"other tag", "POST", "/api/embed", `{"model":"bge-m3:567m","input":"a"}`, nil, 404, "model 'bge-m3:567m' not found"},
		{"unknown model", "POST", "/api/embed", `{"model":"nomic-embed-text:latest","input":"a"}`,
			fmt.Errorf("%w: no such model", backend.ErrUnknownModel), 404, "model 'nomic-embed-text:latest' not found"},
		{"legacy unknown model", "POST", "/api/embeddings", `{"model":"x","prompt":"a"}`,
			fmt.Errorf("%w: no such model", backend.ErrUnknownModel), 404, "model 'x' not found"},
		{"too long", "POST", "/api/embed", `{"input":"a","truncate":false}`,
			fmt.Errorf("%w: input 0 has 9 tokens; the limit is 8", backend.ErrInputTooLong), 400, "input is too long: input 0 has 9 tokens; the limit is 8"},
		{"wrong kind", "POST", "/api/embed", `{"model":"bge-reranker","input":"a"}`,
			fmt.Errorf("%w: a rerank model", backend.ErrWrongKind), 422, ""},
		{"bad input", "POST", "/api/embed", `{"input":3}`, nil, 400, ""},
		{"bad json", "POST", "/api/embed", `{`, nil, 400, ""},
		{"negative dimensions", "POST", "/api/embed", `{"input":"a","dimensions":-1}`, nil, 400, ""},
		{"show without model", "POST", "/api/show", `{}`, nil, 400, ""},
		{"unknown route", "POST", "/api/generate", `{}`, nil, 404, ""},
		{"wrong method", "GET", "/api/embed", ``, nil, 405, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			engine := &fakeEngine{}
			if tc.engineErr != nil {
				engine.embed = func(context.Context, backend.EmbedRequest) (*backend.EmbedResult, error) { return nil, tc.engineErr }
			}
			rec := do(t, newTestServer(engine, Config{}), tc.method, tc.path, tc.body)
			got := decode[map[string]any](t, rec)
			msg, _ := got["error"].(string)
			if rec.Code != tc.wantStatus || len(got) != 1 || msg == "" || tc.wantError != "" && msg != tc.wantError {
				t.Errorf("status %d, body %s; want %d and Ollama's {\"error\": %q}", rec.Code, rec.Body, tc.wantStatus, tc.wantError)
			}
		})
	}
}

// ollamaModels is a catalog with a downloaded embedding model, one not
// downloaded, a downloaded reranker and an unsupported model.
func ollamaModels(modified time.Time) []backend.ModelStatus {
	return []backend.ModelStatus{
		{Entry: catalog.Entry{Name: "bge-m3", Repo: "BAAI/bge-m3", Kind: catalog.KindEmbedding, Architecture: "XLMRobertaModel",
			MaxLength: 8192, Dimensions: 1024, Size: "568M", License: "MIT", Source: catalog.Source{Outtype: "f16", SHA256: "abc"}},
			Downloaded: true, Size: 1234, Modified: modified},
		{Entry: catalog.Entry{Name: "e5-small", Kind: catalog.KindEmbedding}},
		{Entry: catalog.Entry{Name: "bge-reranker", Kind: catalog.KindRerank}, Downloaded: true},
		{Entry: catalog.Entry{Name: "odd", Kind: catalog.KindEmbedding, Status: catalog.StatusUnsupported}, Downloaded: true},
	}
}

func TestOllamaTags(t *testing.T) {
	modified := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	h := newTestServer(&fakeEngine{models: ollamaModels(modified)}, Config{})
	got := decode[api.OllamaModelList](t, do(t, h, http.MethodGet, "/api/tags", ""))
	want := api.OllamaModelList{Models: []api.OllamaModel{{
		Name: "bge-m3:latest", Model: "bge-m3:latest", ModifiedAt: modified, Size: 1234, Digest: "abc",
		Details: api.OllamaModelDetails{Format: "gguf", Family: "XLMRobertaModel", Families: []string{"XLMRobertaModel"},
			ParameterSize: "568M", QuantizationLevel: "F16"},
	}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("/api/tags = %+v, want %+v", got, want)
	}
	if rec := do(t, newTestServer(&fakeEngine{}, Config{}), http.MethodGet, "/api/tags", ""); rec.Body.String() != `{"models":[]}`+"\n" {
		t.Errorf("no models: %s, want an empty list", rec.Body)
	}
}

func TestOllamaShow(t *testing.T) {
	modified := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	h := newTestServer(&fakeEngine{models: ollamaModels(modified)}, Config{})
	for _, body := range []string{`{"model":"bge-m3"}`, `{"name":"bge-m3:latest"}`, `{"model":"baai/bge-m3"}`} {
		rec := do(t, h, http.MethodPost, "/api/show", body)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", body, rec.Code, rec.Body)
		}
		got := decode[api.OllamaShowResponse](t, rec)
		wantInfo := map[string]any{"general.basename": "bge-m3", "general.architecture": "XLMRobertaModel",
			"XLMRobertaModel.context_length": 8192.0, "XLMRobertaModel.embedding_length": 1024.0}
		if got.License != "MIT" || got.Details.Format != "gguf" || got.Details.ParameterSize != "568M" ||
			!reflect.DeepEqual(got.ModelInfo, wantInfo) || !reflect.DeepEqual(got.Capabilities, []string{"embedding"}) ||
			!got.ModifiedAt.Equal(modified) {
			t.Errorf("%s: /api/show = %s", body, rec.Body)
		}
	}
	rec := do(t, h, http.MethodPost, "/api/show", `{"model":"bge-m3:q4"}`)
	if got := decode[api.OllamaError](t, rec); rec.Code != http.StatusNotFound || got.Error != "model 'bge-m3:q4' not found" {
		t.Errorf("other tag: status %d, body %s", rec.Code, rec.Body)
	}
}

func TestOllamaVersion(t *testing.T) {
	h := newTestServer(&fakeEngine{}, Config{Info: api.Info{Version: "v1.2.3"}})
	if got := decode[api.OllamaVersion](t, do(t, h, http.MethodGet, "/api/version", "")); got.Version != "v1.2.3" {
		t.Errorf("version %q, want v1.2.3", got.Version)
	}
}

func TestOllamaModelName(t *testing.T) {
	for in, want := range map[string]string{
		"bge-m3": "bge-m3", "bge-m3:latest": "bge-m3", "BAAI/bge-m3": "BAAI/bge-m3",
		"localhost:5000/bge-m3": "localhost:5000/bge-m3", "": "",
	} {
		if got, err := ollamaModelName(in); got != want || err != nil {
			t.Errorf("ollamaModelName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ollamaModelName("bge-m3:f16"); err == nil {
		t.Error(`ollamaModelName("bge-m3:f16") succeeded; want not found`)
	}
}
