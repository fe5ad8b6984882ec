package server

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/backend"
)

// fakeRerank scores a document by its length (longer is more relevant,
// len/100), so tests know the order, and counts 5 tokens per document.
func fakeRerank(req backend.RerankRequest) *backend.RerankResult {
	res := &backend.RerankResult{Model: req.Model, Tokens: 5 * len(req.Documents), Pairs: len(req.Documents)}
	if res.Model == "" {
		res.Model = "default-reranker"
	}
	for i, d := range req.Documents {
		res.Results = append(res.Results, backend.RankedDocument{Index: i, Score: float64(len(d)) / 100})
	}
	slices.SortStableFunc(res.Results, func(a, b backend.RankedDocument) int { return cmp.Compare(b.Score, a.Score) })
	if req.TopN > 0 && req.TopN < len(res.Results) {
		res.Results = res.Results[:req.TopN]
	}
	return res
}

// cohereResponse decodes a rerank response loosely, keeping documents raw.
type cohereResponse struct {
	ID      string `json:"id"`
	Results []struct {
		Index          int             `json:"index"`
		RelevanceScore float64         `json:"relevance_score"`
		Document       json.RawMessage `json:"document"`
	} `json:"results"`
	Model *string        `json:"model"`
	Usage *api.JinaUsage `json:"usage"`
	Meta  api.CohereMeta `json:"meta"`
}

func (f *fakeEngine) lastRerank(t *testing.T) backend.RerankRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.rerankRequests) != 1 {
		t.Fatalf("engine saw %d rerank requests, want 1", len(f.rerankRequests))
	}
	return f.rerankRequests[0]
}

func TestCohereRerankV1AndV2(t *testing.T) {
	body := `{"model": "bge-reranker-v2-m3", "query": "what is a dog?", "documents": ["a cat", "a dog is an animal", "dogs"]}`
	for _, c := range []struct {
		path, version string
		echo          bool // documents echoed by default
		jina          bool // model and usage present
	}{
		{"/v1/rerank", "1", true, true},
		{"/v2/rerank", "2", false, false},
	} {
		t.Run(c.path, func(t *testing.T) {
			engine := &fakeEngine{}
			rec := do(t, newTestServer(engine, Config{}), http.MethodPost, c.path, body, "X-Request-Id", "req-1")
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			want := backend.RerankRequest{Model: "bge-reranker-v2-m3", Query: "what is a dog?", Documents: []string{"a cat", "a dog is an animal", "dogs"}}
			if got := engine.lastRerank(t); !reflect.DeepEqual(got, want) {
				t.Errorf("engine request %+v, want %+v", got, want)
			}
			got := decode[cohereResponse](t, rec)
			if got.ID != "req-1" || got.Meta.APIVersion.Version != c.version || got.Meta.BilledUnits.SearchUnits != 1 || got.Meta.Tokens.InputTokens != 15 {
				t.Errorf("id %q, meta %+v", got.ID, got.Meta)
			}
			if order := []int{got.Results[0].Index, got.Results[1].Index, got.Results[2].Index}; !slices.Equal(order, []int{1, 0, 2}) {
				t.Errorf("order %v, want [1 0 2] (by length)", order)
			}
			if got.Results[0].RelevanceScore != 0.18 {
				t.Errorf("relevance_score %g, want 0.18", got.Results[0].RelevanceScore)
			}
			if hasDoc := got.Results[0].Document != nil; hasDoc != c.echo {
				t.Errorf("document present %v, want %v", hasDoc, c.echo)
			}
			if c.echo && string(got.Results[0].Document) != `{"text":"a dog is an animal"}` {
				t.Errorf("document %s", got.Results[0].Document)
			}
			if (got.Model != nil && got.Usage != nil) != c.jina {
				t.Errorf("model %v usage %v, want present %v", got.Model, got.Usage, c.jina)
			}
			if c.jina && (*got.Model != "bge-reranker-v2-m3" || got.Usage.TotalTokens != 15) {
				t.Errorf("model %q usage %+v", *got.Model, got.Usage)
			}
		})
	}
}

func TestCohereRerankOptions(t *testing.T) {
	engine := &fakeEngine{}
	h := newTestServer(engine, Config{})
	rec := do(t, h, http.MethodPost, "/v2/rerank", `{"query": "q", "documents": ["a", "bb", "ccc"], "top_n": 2,
		"return_documents": true, "max_chunks_per_doc": 3, "max_tokens_per_doc": 40, "raw_scores": true, "truncate": true}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	want := backend.RerankRequest{Query: "q", Documents: []string{"a", "bb", "ccc"}, TopN: 2, RawScores: true, Truncate: true,
		MaxChunksPerDoc: 3, MaxTokensPerDoc: 40}
	if got := engine.lastRerank(t); !reflect.DeepEqual(got, want) {
		t.Errorf("engine request %+v, want %+v", got, want)
	}
	got := decode[cohereResponse](t, rec)
	if len(got.Results) != 2 || string(got.Results[1].Document) != `{"text":"bb"}` {
		t.Errorf("results %+v", got.Results)
	}

	rec = do(t, h, http.MethodPost, "/v1/rerank", `{"query": "q", "documents": ["a"], "return_documents": false}`)
	if got := decode[cohereResponse](t, rec); got.Results[0].Document != nil {
		t.Errorf("return_documents false still echoed %s", got.Results[0].Document)
	}
}

func TestCohereRerankDocumentObjects(t *testing.T) {
	const plain = `{"text": "plain", "id": 7}`
	const structured = `{"title": "Dogs", "body": "bark", "year": 2024, "tags": ["a", "b"]}`
	for _, c := range []struct {
		name, doc, fields string
		want              string
	}{
		{"text field", plain, ``, "plain"},
		{"one rank field", structured, `, "rank_fields": ["title"]`, "Dogs"},
		{"several rank fields", structured, `, "rank_fields": ["title", "body", "year", "tags"]`,
			"title: Dogs\nbody: bark\nyear: 2024\ntags: [\"a\",\"b\"]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			engine := &fakeEngine{}
			rec := do(t, newTestServer(engine, Config{}), http.MethodPost, "/v1/rerank",
				`{"query": "q", "documents": ["x", `+c.doc+`]`+c.fields+`}`)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if got := engine.lastRerank(t).Documents; !slices.Equal(got, []string{"x", c.want}) {
				t.Errorf("ranked texts %q, want %q", got, []string{"x", c.want})
			}
			// The object comes back as sent, every field kept.
			var echoed, sent any
			_ = json.Unmarshal(decode[cohereResponse](t, rec).Results[0].Document, &echoed)
			_ = json.Unmarshal([]byte(c.doc), &sent)
			if !reflect.DeepEqual(echoed, sent) {
				t.Errorf("document echoed as %v, want %v", echoed, sent)
			}
		})
	}
}

// An object document is echoed as sent, but invalid UTF-8 in it comes
// back as U+FFFD per byte, as the decoder reads every other string: the
// response stays JSON.
func TestCohereRerankEchoesValidUTF8(t *testing.T) {
	rec := do(t, newTestServer(&fakeEngine{}, Config{}), http.MethodPost, "/v1/rerank",
		`{"query": "q", "documents": [{"text": "a`+"\xff\xfe"+`b", "n": 1}]}`)
	if rec.Code != http.StatusOK || !utf8.Valid(rec.Body.Bytes()) || !json.Valid(rec.Body.Bytes()) {
		t.Fatalf("status %d, body %q", rec.Code, rec.Body)
	}
	if doc := string(decode[cohereResponse](t, rec).Results[0].Document); doc != `{"text":"a`+"\ufffd\ufffd"+`b","n":1}` {
		t.Errorf("document echoed as %s", doc)
	}
}

func TestTEIRerank(t *testing.T) {
	engine := &fakeEngine{}
	h := newTestServer(engine, Config{})
	rec := do(t, h, http.MethodPost, "/rerank", `{"query": "q", "texts": ["a", "ccc", "bb"], "return_text": true, "raw_scores": true, "model": "m"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if got, want := engine.lastRerank(t), (backend.RerankRequest{Model: "m", Query: "q", Documents: []string{"a", "ccc", "bb"}, RawScores: true}); !reflect.DeepEqual(got, want) {
		t.Errorf("engine request %+v, want %+v", got, want)
	}
	if got := rec.Body.String(); got != `[{"index":1,"text":"ccc","score":0.03},{"index":2,"text":"bb","score":0.02},{"index":0,"text":"a","score":0.01}]`+"\n" {
		t.Errorf("body %s", got)
	}
	rec = do(t, h, http.MethodPost, "/rerank", `{"query": "q", "texts": ["a"], "truncate": true}`)
	if rec.Body.String() != `[{"index":0,"score":0.01}]`+"\n" || !engine.rerankRequests[1].Truncate {
		t.Errorf("without return_text: %s, truncate %v", rec.Body, engine.rerankRequests[1].Truncate)
	}
	// The same route takes Cohere's shape.
	rec = do(t, h, http.MethodPost, "/rerank", `{"query": "q", "documents": ["a", "bb"]}`)
	if got := decode[cohereResponse](t, rec); rec.Code != http.StatusOK || got.Meta.APIVersion.Version != "1" || got.Results[0].Index != 1 {
		t.Errorf("Cohere shape on /rerank: %d %s", rec.Code, rec.Body)
	}
}

func TestRerankErrors(t *testing.T) {
	engineErr := func(err error) func(context.Context, backend.RerankRequest) (*backend.RerankResult, error) {
		return func(context.Context, backend.RerankRequest) (*backend.RerankResult, error) { return nil, err }
	}
	cases := []struct {
		name, path, body string
		engine           func(context.Context, backend.RerankRequest) (*backend.RerankResult, error)
		status           int
		teiType          string // "" for Cohere's envelope
		inMessage        string
	}{
		{"bad json", "/v1/rerank", `{"query": `, nil, 400, "", "JSON"},
		{"empty query", "/v1/rerank", `{"query": " ", "documents": ["a"]}`, nil, 400, "", "query"},
		{"missing documents", "/v2/rerank", `{"query": "q"}`, nil, 400, "", "documents"},
		{"empty documents", "/v1/rerank", `{"query": "q", "documents": []}`, nil, 400, "", "documents"},
		{"too many documents", "/v1/rerank", `{"query": "q", "documents": ["a", "b", "c", "d"]}`, nil, 413, "", "3"},
		{"document not text", "/v1/rerank", `{"query": "q", "documents": [1]}`, nil, 400, "", "documents[0]"},
		{"object without text", "/v1/rerank", `{"query": "q", "documents": [{"title": "x"}]}`, nil, 400, "", "rank_fields"},
		{"missing rank field", "/v1/rerank", `{"query": "q", "documents": [{"title": "x"}], "rank_fields": ["body"]}`, nil, 400, "", `"body"`},
		{"top_n zero", "/v1/rerank", `{"query": "q", "documents": ["a"], "top_n": 0}`, nil, 400, "", "top_n"},
		{"wrong type", "/v2/rerank", `{"query": ["q"], "documents": ["a"]}`, nil, 400, "", "query"},
		{"unknown model", "/v1/rerank", `{"query": "q", "documents": ["a"], "model": "x"}`, engineErr(backend.ErrUnknownModel), 404, "", "unknown model"},
		{"embedding model", "/v2/rerank", `{"query": "q", "documents": ["a"]}`, engineErr(backend.ErrWrongKind), 422, "", "cannot serve"},
		{"query too long", "/v1/rerank", `{"query": "q", "documents": ["a"]}`, engineErr(backend.ErrInputTooLong), 400, "", "too long"},
		{"engine bug", "/v1/rerank", `{"query": "q", "documents": ["a", "b"]}`,
			func(context.Context, backend.RerankRequest) (*backend.RerankResult, error) {
				return &backend.RerankResult{Results: []backend.RankedDocument{{Index: 1}, {Index: 1}}}, nil
			}, 500, "", "twice"},
		{"tei empty texts", "/rerank", `{"query": "q", "texts": []}`, nil, 400, "Empty", "texts"},
		{"tei empty query", "/rerank", `{"query": "", "texts": ["a"]}`, nil, 400, "Empty", "query"},
		{"tei too many", "/rerank", `{"query": "q", "texts": ["a", "b", "c", "d"]}`, nil, 413, "Validation", "3"},
		{"tei left truncation", "/rerank", `{"query": "q", "texts": ["a"], "truncation_direction": "Left"}`, nil, 400, "Validation", "Right"},
		{"neither shape", "/rerank", `{"query": "q"}`, nil, 400, "Validation", "texts"},
		{"tei overloaded", "/rerank", `{"query": "q", "texts": ["a"]}`, engineErr(backend.ErrOverloaded), 429, "Overloaded", "overloaded"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newTestServer(&fakeEngine{rerank: c.engine}, Config{MaxRerankDocuments: 3})
			rec := do(t, h, http.MethodPost, c.path, c.body, "X-Request-Id", "e-1")
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body)
			}
			var message string
			if c.teiType != "" {
				got := decode[api.TEIError](t, rec)
				if got.ErrorType != c.teiType {
					t.Errorf("error_type %q, want %q", got.ErrorType, c.teiType)
				}
				message = got.Error
			} else {
				got := decode[api.CohereError](t, rec)
				if got.ID != "e-1" {
					t.Errorf("error id %q, want the request id", got.ID)
				}
				message = got.Message
			}
			if !strings.Contains(message, c.inMessage) {
				t.Errorf("message %q does not mention %q", message, c.inMessage)
			}
		})
	}
}
