package server

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/backend"
)

// EmbedOutputs answers like Embed for dense and, per input i, sparse
// weights {i+1: 0.5, i+7: 0.25} and two ColBERT vectors; with embed set,
// its error passes through.
func (f *fakeEngine) EmbedOutputs(ctx context.Context, req backend.OutputsRequest) (*backend.OutputsResult, error) {
	f.mu.Lock()
	f.requests = append(f.requests, req.EmbedRequest)
	f.outputsRequests = append(f.outputsRequests, req)
	f.contexts = append(f.contexts, ctx)
	f.mu.Unlock()
	if f.embed != nil {
		if _, err := f.embed(ctx, req.EmbedRequest); err != nil {
			return nil, err
		}
	}
	res := &backend.OutputsResult{Model: "default-embedder", PromptTokens: 3 * len(req.Inputs)}
	for i := range req.Inputs {
		if req.Outputs.Dense {
			res.Dense = append(res.Dense, vectorFor(i, fakeDims))
		}
		if req.Outputs.Sparse {
			res.Sparse = append(res.Sparse, []backend.SparseWeight{{ID: int32(i + 1), Weight: 0.5, Text: "a"}, {ID: int32(i + 7), Weight: 0.25, Text: "b"}})
		}
		if req.Outputs.ColBERT {
			res.ColBERT = append(res.ColBERT, [][]float32{vectorFor(i, 2), vectorFor(i+1, 2)})
		}
	}
	return res, nil
}

func TestTEIEmbedSparse(t *testing.T) {
	engine := &fakeEngine{}
	h := newTestServer(engine, Config{AutoTruncate: true})
	rec := do(t, h, http.MethodPost, "/embed_sparse", `{"inputs":["ab","c"],"model":"bge-m3","prompt_name":"query"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	// TEI's shape, field for field: index and value, no text unless asked.
	if got := rec.Body.String(); !strings.HasPrefix(got, `[[{"index":1,"value":0.5},{"index":7,"value":0.25}],[{"index":2,`) {
		t.Errorf("body %s", got)
	}
	req := engine.outputsRequests[0]
	if req.Model != "bge-m3" || req.Outputs != (backend.Outputs{Sparse: true}) || req.SparseText || req.InputType != backend.InputQuery {
		t.Errorf("engine got %+v", req)
	}
	rec = do(t, h, http.MethodPost, "/embed_sparse", `{"inputs":"ab","return_text":true}`)
	got := decode[[][]api.TEISparseValue](t, rec)
	if len(got) != 1 || got[0][0].Text == nil || *got[0][0].Text != "a" || !engine.outputsRequests[1].SparseText {
		t.Errorf("return_text: %s", rec.Body)
	}
	// A model without the head: the engine's 422 in TEI's envelope.
	engine = &fakeEngine{embed: func(context.Context, backend.EmbedRequest) (*backend.EmbedResult, error) {
		return nil, fmt.Errorf("%w: no sparse head", backend.ErrWrongKind)
	}}
	rec = do(t, newTestServer(engine, Config{}), http.MethodPost, "/embed_sparse", `{"inputs":"ab"}`)
	if e := decode[api.TEIError](t, rec); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(e.Error, "sparse head") {
		t.Errorf("status %d: %s", rec.Code, rec.Body)
	}
}

func TestTEIEmbedColBERT(t *testing.T) {
	engine := &fakeEngine{}
	rec := do(t, newTestServer(engine, Config{}), http.MethodPost, "/embed_colbert", `{"inputs":["ab","c"],"truncate":true}`)
	want := [][][]float32{{vectorFor(0, 2), vectorFor(1, 2)}, {vectorFor(1, 2), vectorFor(2, 2)}}
	if got := decode[[][][]float32](t, rec); rec.Code != http.StatusOK || !reflect.DeepEqual(got, want) {
		t.Errorf("status %d: %v, want %v", rec.Code, got, want)
	}
	if req := engine.outputsRequests[0]; req.Outputs != (backend.Outputs{ColBERT: true}) || !req.Truncate {
		t.Errorf("engine got %+v", req)
	}
}

func TestOpenAIEmbeddingsOutputs(t *testing.T) {
	engine := &fakeEngine{}
	h := newTestServer(engine, Config{})
	rec := do(t, h, http.MethodPost, "/v1/embeddings", `{"input":["ab","c"],"model":"bge-m3","outputs":["dense","sparse","colbert"]}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	resp := decode[api.OpenAIEmbeddingResponse](t, rec)
	if len(resp.Data) != 2 || resp.Data[1].Index != 1 || len(resp.Data[1].Sparse) != 2 || resp.Data[1].Sparse[0].Index != 2 ||
		len(resp.Data[0].ColBERT) != 2 || resp.Data[0].Embedding == nil || resp.Usage.PromptTokens != 6 {
		t.Errorf("response %s", rec.Body)
	}
	if got := engine.outputsRequests[0].Outputs; got != (backend.Outputs{Dense: true, Sparse: true, ColBERT: true}) {
		t.Errorf("outputs %+v", got)
	}
	// Without dense there is no "embedding" key at all.
	rec = do(t, h, http.MethodPost, "/v1/embeddings", `{"input":"ab","outputs":["sparse"]}`)
	if body := rec.Body.String(); rec.Code != http.StatusOK || strings.Contains(body, `"embedding":`) || !strings.Contains(body, `"sparse":[`) {
		t.Errorf("sparse only: %s", body)
	}
	// A plain OpenAI request never reaches EmbedOutputs.
	rec = do(t, h, http.MethodPost, "/v1/embeddings", `{"input":"ab"}`)
	if rec.Code != http.StatusOK || len(engine.outputsRequests) != 2 || strings.Contains(rec.Body.String(), "sparse") {
		t.Errorf("plain request: %d outputs calls, %s", len(engine.outputsRequests), rec.Body)
	}
	for _, body := range []string{`{"input":"ab","outputs":["splade"]}`, `{"input":"ab","outputs":[]}`} {
		rec = do(t, h, http.MethodPost, "/v1/embeddings", body)
		if e := decode[api.OpenAIErrorResponse](t, rec); rec.Code != http.StatusBadRequest || e.Error.Param == nil || *e.Error.Param != "outputs" {
			t.Errorf("%s: status %d: %s", body, rec.Code, rec.Body)
		}
	}
}

func TestRerankHybridWeightsReachTheEngine(t *testing.T) {
	for _, tc := range []struct{ path, body string }{
		{"/v1/rerank", `{"model":"bge-m3","query":"q","documents":["a"],"hybrid_weights":{"dense":1,"sparse":0.5,"colbert":0}}`},
		{"/rerank", `{"model":"bge-m3","query":"q","texts":["a"],"hybrid_weights":{"dense":1,"sparse":0.5,"colbert":0}}`},
	} {
		engine := &fakeEngine{}
		if rec := do(t, newTestServer(engine, Config{}), http.MethodPost, tc.path, tc.body); rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", tc.path, rec.Code, rec.Body)
		}
		if w := engine.lastRerank(t).Weights; w == nil || *w != (backend.HybridWeights{Dense: 1, Sparse: 0.5}) {
			t.Errorf("%s: weights %+v", tc.path, w)
		}
	}
	engine := &fakeEngine{}
	if do(t, newTestServer(engine, Config{}), http.MethodPost, "/v2/rerank", `{"query":"q","documents":["a"]}`); engine.lastRerank(t).Weights != nil {
		t.Error("a request without hybrid_weights sent some")
	}
}
