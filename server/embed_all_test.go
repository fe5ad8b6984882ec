package server

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/backend"
)

// EmbedAll answers through the same fake as Embed: with embed set, each of
// its vectors becomes one token of its input (and its errors pass
// through); otherwise input i has one token per byte (or id), token t
// being vectorFor(10*i+t).
func (f *fakeEngine) EmbedAll(ctx context.Context, req backend.EmbedRequest) (*backend.TokenEmbedResult, error) {
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.contexts = append(f.contexts, ctx)
	f.mu.Unlock()
	res := &backend.TokenEmbedResult{Model: "default-embedder"}
	if f.embed != nil {
		pooled, err := f.embed(ctx, req)
		if err != nil {
			return nil, err
		}
		for _, v := range pooled.Vectors {
			res.Vectors = append(res.Vectors, [][]float32{v})
		}
		return res, nil
	}
	for i, in := range req.Inputs {
		n := max(len(in.Text), len(in.Tokens))
		var rows [][]float32
		for t := range n {
			rows = append(rows, vectorFor(10*i+t, fakeDims))
		}
		res.Vectors = append(res.Vectors, rows)
	}
	return res, nil
}

func TestTEIEmbedAll(t *testing.T) {
	engine := &fakeEngine{}
	h := newTestServer(engine, Config{AutoTruncate: true})
	rec := do(t, h, http.MethodPost, "/embed_all",
		`{"inputs":["ab","c"],"truncate":false,"truncation_direction":"Right","prompt_name":"passage","model":"m"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	want := [][][]float32{{vectorFor(0, fakeDims), vectorFor(1, fakeDims)}, {vectorFor(10, fakeDims)}}
	if got := decode[[][][]float32](t, rec); !reflect.DeepEqual(got, want) {
		t.Errorf("token vectors %v, want %v", got, want)
	}
	req := engine.lastRequest(t)
	if req.Model != "m" || len(req.Inputs) != 2 || req.Inputs[0].Text != "ab" || req.Truncate ||
		req.InputType != backend.InputDocument || req.Normalize != nil || req.Dimensions != 0 {
		t.Errorf("engine got %+v", req)
	}

	// One string, and token ids, as /embed takes them; the server's
	// auto-truncate applies when the request says nothing.
	engine = &fakeEngine{}
	rec = do(t, newTestServer(engine, Config{AutoTruncate: true}), http.MethodPost, "/embed_all", `{"inputs":[5,6,7]}`)
	if got := decode[[][][]float32](t, rec); rec.Code != http.StatusOK || len(got) != 1 || len(got[0]) != 3 {
		t.Errorf("token ids: status %d, %v", rec.Code, got)
	}
	if req := engine.lastRequest(t); !req.Truncate || len(req.Inputs[0].Tokens) != 3 {
		t.Errorf("token ids: engine got %+v", req)
	}

	for _, tc := range []struct {
		name, body string
		engine     *fakeEngine
		status     int
		errorType  string
		mentions   string
	}{
		{"empty", `{"inputs":[]}`, &fakeEngine{}, 400, "Empty", "inputs"},
		{"wrong type", `{"inputs":"a","truncate":"yes"}`, &fakeEngine{}, 400, "Validation", "truncate"},
		{"left truncation", `{"inputs":"a","truncation_direction":"Left"}`, &fakeEngine{}, 400, "Validation", "truncation_direction"},
		{"bad prompt", `{"inputs":"a","prompt_name":"x"}`, &fakeEngine{}, 400, "Validation", "prompt_name"},
		{"too many", `{"inputs":["a","b","c"]}`, &fakeEngine{}, 413, "Validation", "3"},
		{"reranker", `{"inputs":"a","model":"r"}`, &fakeEngine{embed: engineError(backend.ErrWrongKind, `"r" is a rerank model`)}, 422, "Validation", "rerank model"},
	} {
		rec := do(t, newTestServer(tc.engine, Config{MaxClientBatchSize: 2}), http.MethodPost, "/embed_all", tc.body)
		e := decode[api.TEIError](t, rec)
		if rec.Code != tc.status || e.ErrorType != tc.errorType || !strings.Contains(e.Error, tc.mentions) {
			t.Errorf("%s: status %d, %+v; want %d %s mentioning %s", tc.name, rec.Code, e, tc.status, tc.errorType, tc.mentions)
		}
	}
}
