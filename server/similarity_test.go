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

// Similarity answers through the same fake as Embed: each input after the
// first scores the dot product of embed's vectors for it and the first
// (so a test can pick the scores), or 1/(i+1) without embed.
func (f *fakeEngine) Similarity(ctx context.Context, req backend.EmbedRequest) (*backend.SimilarityResult, error) {
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.mu.Unlock()
	res := &backend.SimilarityResult{Model: "default-embedder"}
	if f.embed == nil {
		for i := range req.Inputs[1:] {
			res.Scores = append(res.Scores, 1/float32(i+1))
		}
		return res, nil
	}
	embedded, err := f.embed(ctx, req)
	if err != nil {
		return nil, err
	}
	for _, v := range embedded.Vectors[1:] {
		var dot float32
		for j := range v {
			dot += v[j] * embedded.Vectors[0][j]
		}
		res.Scores = append(res.Scores, dot)
	}
	return res, nil
}

func TestTEISimilarity(t *testing.T) {
	unit := map[string][]float32{"src": {1, 0}, "same": {1, 0}, "orthogonal": {0, 1}, "between": {0.6, 0.8}}
	engine := &fakeEngine{embed: func(_ context.Context, req backend.EmbedRequest) (*backend.EmbedResult, error) {
		res := &backend.EmbedResult{Model: "m"}
		for _, in := range req.Inputs {
			res.Vectors = append(res.Vectors, unit[in.Text])
		}
		return res, nil
	}}
	rec := do(t, newTestServer(engine, Config{AutoTruncate: true}), http.MethodPost, "/similarity",
		`{"inputs":{"source_sentence":"src","sentences":["same","orthogonal","between"]},`+
			`"parameters":{"truncate":false,"prompt_name":"query"},"model":"m"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if got, want := decode[[]float32](t, rec), []float32{1, 0, 0.6}; !reflect.DeepEqual(got, want) {
		t.Errorf("similarities %v, want %v", got, want)
	}
	// One engine call with the source first, with the prompt and the
	// truncation the parameters ask for; normalizing is the engine's.
	req := engine.lastRequest(t)
	texts := make([]string, len(req.Inputs))
	for i, in := range req.Inputs {
		texts[i] = in.Text
	}
	if req.Model != "m" || !reflect.DeepEqual(texts, []string{"src", "same", "orthogonal", "between"}) ||
		req.Truncate || req.InputType != backend.InputQuery {
		t.Errorf("engine got %+v", req)
	}

	for _, tc := range []struct {
		name, body, errorType, mentions string
	}{
		{"no source", `{"inputs":{"sentences":["a"]}}`, "Empty", "source_sentence"},
		{"no sentences", `{"inputs":{"source_sentence":"a"}}`, "Empty", "sentences"},
		{"empty sentence", `{"inputs":{"source_sentence":"a","sentences":["b",""]}}`, "Empty", "sentences[1]"},
		{"left truncation", `{"inputs":{"source_sentence":"a","sentences":["b"]},"parameters":{"truncation_direction":"Left"}}`, "Validation", "truncation_direction"},
		{"bad prompt", `{"inputs":{"source_sentence":"a","sentences":["b"]},"parameters":{"prompt_name":"x"}}`, "Validation", "prompt_name"},
	} {
		rec := do(t, newTestServer(&fakeEngine{}, Config{}), http.MethodPost, "/similarity", tc.body)
		e := decode[api.TEIError](t, rec)
		if rec.Code != http.StatusBadRequest || e.ErrorType != tc.errorType || !strings.Contains(e.Error, tc.mentions) {
			t.Errorf("%s: status %d, %+v; want 400 %s mentioning %s", tc.name, rec.Code, e, tc.errorType, tc.mentions)
		}
	}
}
