package server

import (
	"net/http"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/backend"
)

// teiEmbedColBERT serves POST /embed_colbert: per input, BGE-M3's ColBERT
// vectors, one per token after the first, normalized. It is a route of
// its own rather than an option of /embed_all, whose answer stays the raw
// hidden states of every token as TEI defines it; a model without the
// ColBERT head answers 422.
func (s *server) teiEmbedColBERT(w http.ResponseWriter, r *http.Request) {
	var req api.TEIEmbedColBERTRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	embedReq, err := s.teiEmbedRequest(req.Inputs, req.Model, req.Truncate, req.TruncationDirection, req.PromptName, nil)
	if err != nil {
		writeError(w, r, err)
		return
	}
	res, err := s.embedOutputs(r, backend.OutputsRequest{EmbedRequest: embedReq, Outputs: backend.Outputs{ColBERT: true}})
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, res.ColBERT)
}
