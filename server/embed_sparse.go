package server

import (
	"fmt"
	"math"
	"net/http"
	"slices"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/backend"
)

// teiEmbedSparse serves TEI's POST /embed_sparse: per input, the lexical
// weight of each token id, from BGE-M3's sparse head. A model without it
// answers 422.
func (s *server) teiEmbedSparse(w http.ResponseWriter, r *http.Request) {
	var req api.TEIEmbedSparseRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	embedReq, err := s.teiEmbedRequest(req.Inputs, req.Model, req.Truncate, req.TruncationDirection, req.PromptName, nil)
	if err != nil {
		writeError(w, r, err)
		return
	}
	res, err := s.embedOutputs(r, backend.OutputsRequest{EmbedRequest: embedReq, Outputs: backend.Outputs{Sparse: true}, SparseText: req.ReturnText})
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := make([][]api.TEISparseValue, len(res.Sparse))
	for i, weights := range res.Sparse {
		out[i] = sparseValues(weights, req.ReturnText)
	}
	writeJSON(w, r, http.StatusOK, out)
}

// sparseValues puts one input's weights on the wire, with the token texts
// when asked for.
func sparseValues(weights []backend.SparseWeight, withText bool) []api.TEISparseValue {
	out := make([]api.TEISparseValue, len(weights))
	for j, sw := range weights {
		out[j] = api.TEISparseValue{Index: sw.ID, Value: sw.Weight}
		if withText {
			out[j].Text = &sw.Text
		}
	}
	return out
}

// parseOutputs reads /v1/embeddings' "outputs" extension; none means
// dense alone, as plain OpenAI requests get.
func parseOutputs(names []string) (backend.Outputs, error) {
	if names == nil {
		return backend.Outputs{Dense: true}, nil
	}
	var o backend.Outputs
	for _, n := range names {
		switch n {
		case "dense":
			o.Dense = true
		case "sparse":
			o.Sparse = true
		case "colbert":
			o.ColBERT = true
		default:
			return o, invalidField("outputs", `"outputs" may hold "dense", "sparse" and "colbert", not %q`, n)
		}
	}
	if !o.Dense && !o.Sparse && !o.ColBERT {
		return o, invalidField("outputs", `"outputs" is empty; ask for any of "dense", "sparse" and "colbert", or leave it out`)
	}
	return o, nil
}

// embedOutputs calls the engine and checks the shape of what it returns,
// as embed does.
func (s *server) embedOutputs(r *http.Request, req backend.OutputsRequest) (*backend.OutputsResult, error) {
	ri := info(r)
	ri.model, ri.inputs = req.Model, len(req.Inputs)
	res, err := s.engine.EmbedOutputs(r.Context(), req)
	if err != nil {
		return nil, err
	}
	ri.model, ri.tokens, ri.stats = res.Model, res.PromptTokens, res.Stats
	n := len(req.Inputs)
	for _, got := range []struct {
		asked bool
		len   int
	}{{req.Outputs.Dense, len(res.Dense)}, {req.Outputs.Sparse, len(res.Sparse)}, {req.Outputs.ColBERT, len(res.ColBERT)}} {
		if got.asked && got.len != n {
			return nil, fmt.Errorf("the engine returned %d outputs for %d inputs", got.len, n)
		}
	}
	if slices.ContainsFunc(res.Dense, hasNonFinite) {
		return nil, fmt.Errorf("the engine returned a non-finite value (NaN or Inf); this is a bug, please report it with the model and input")
	}
	return res, nil
}

func hasNonFinite(v []float32) bool {
	return slices.ContainsFunc(v, func(x float32) bool { return math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) })
}

// openAIOutputsResponse is POST /v1/embeddings' answer when "outputs" was
// sent: OpenAI's list, each item carrying the outputs asked for; dense
// vectors follow encoding_format, the others are always floats.
func openAIOutputsResponse(res *backend.OutputsResult, inputs int, asBase64 bool) api.OpenAIEmbeddingResponse {
	resp := OpenAIEmbeddingResponse(&backend.EmbedResult{Model: res.Model, Vectors: res.Dense, PromptTokens: res.PromptTokens}, asBase64)
	if res.Dense == nil {
		resp.Data = make([]api.OpenAIEmbedding, inputs)
		for i := range resp.Data {
			resp.Data[i] = api.OpenAIEmbedding{Object: "embedding", Index: i}
		}
	}
	for i := range resp.Data {
		if res.Sparse != nil {
			resp.Data[i].Sparse = sparseValues(res.Sparse[i], false)
		}
		if res.ColBERT != nil {
			resp.Data[i].ColBERT = res.ColBERT[i]
		}
	}
	return resp
}

// hybridWeights carries a rerank request's "hybrid_weights" extension to
// the engine, which checks them (and refuses them for a cross-encoder).
func hybridWeights(w *api.HybridWeights) *backend.HybridWeights {
	if w == nil {
		return nil
	}
	return &backend.HybridWeights{Dense: w.Dense, Sparse: w.Sparse, ColBERT: w.ColBERT}
}
