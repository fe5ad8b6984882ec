package server

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/backend"
)

// teiEmbedAll serves TEI's POST /embed_all: per input, one vector per
// token, as the model computes them before pooling.
func (s *server) teiEmbedAll(w http.ResponseWriter, r *http.Request) {
	var req api.TEIEmbedAllRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	embedReq, err := s.teiEmbedRequest(req.Inputs, req.Model, req.Truncate, req.TruncationDirection, req.PromptName, nil)
	if err != nil {
		writeError(w, r, err)
		return
	}
	res, err := s.embedAll(r, embedReq)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, res.Vectors)
}

// teiEmbedRequest checks the fields /embed and /embed_all share and builds
// the engine request.
func (s *server) teiEmbedRequest(inputs json.RawMessage, model string, truncate *bool, direction string, promptName *string, dimensions *int) (backend.EmbedRequest, error) {
	if err := checkTruncationDirection(direction); err != nil {
		return backend.EmbedRequest{}, err
	}
	inputType, err := parseInputType("prompt_name", promptName, promptNames)
	if err != nil {
		return backend.EmbedRequest{}, err
	}
	return s.embedRequest(embedFields{
		inputs:      inputs,
		inputsParam: "inputs",
		model:       model,
		dimensions:  dimensions,
		truncate:    truncate,
		inputType:   inputType,
	})
}

// embedAll calls the engine and checks the shape of what it returns, as
// embed does; a NaN would fail the response's encoding with a clean 500.
func (s *server) embedAll(r *http.Request, req backend.EmbedRequest) (*backend.TokenEmbedResult, error) {
	ri := info(r)
	ri.model, ri.inputs = req.Model, len(req.Inputs)
	res, err := s.engine.EmbedAll(r.Context(), req)
	if err != nil {
		return nil, err
	}
	ri.model, ri.tokens, ri.stats = res.Model, res.PromptTokens, res.Stats
	if len(res.Vectors) != len(req.Inputs) {
		return nil, fmt.Errorf("the engine returned token vectors for %d inputs of %d", len(res.Vectors), len(req.Inputs))
	}
	return res, nil
}
