package server

import (
	"fmt"
	"net/http"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/backend"
)

// teiSimilarity serves TEI's POST /similarity: the cosine similarity of
// each sentence to the source sentence, which the engine computes from the
// model's embeddings.
func (s *server) teiSimilarity(w http.ResponseWriter, r *http.Request) {
	var req api.TEISimilarityRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	var params api.TEISimilarityParameters
	if req.Parameters != nil {
		params = *req.Parameters
	}
	if err := checkTruncationDirection(params.TruncationDirection); err != nil {
		writeError(w, r, err)
		return
	}
	inputType, err := parseInputType("prompt_name", params.PromptName, promptNames)
	if err != nil {
		writeError(w, r, err)
		return
	}
	in := req.Inputs
	if in.SourceSentence == "" {
		writeError(w, r, emptyInput("inputs", `"inputs.source_sentence" is empty; send the sentence to compare the others with`))
		return
	}
	if len(in.Sentences) == 0 {
		writeError(w, r, emptyInput("inputs", `"inputs.sentences" is empty; send at least one sentence to compare`))
		return
	}
	inputs := make([]backend.Input, 0, 1+len(in.Sentences))
	inputs = append(inputs, backend.Input{Text: in.SourceSentence})
	for i, text := range in.Sentences {
		if text == "" {
			writeError(w, r, emptyInput("inputs", "inputs.sentences[%d] is an empty string; send some text", i))
			return
		}
		inputs = append(inputs, backend.Input{Text: text})
	}
	embedReq, err := s.newEmbedRequest(req.Model, inputs, "inputs", "dimensions", nil)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if params.Truncate != nil {
		embedReq.Truncate = *params.Truncate
	}
	embedReq.InputType = inputType
	ri := info(r)
	ri.model, ri.inputs = embedReq.Model, len(embedReq.Inputs)
	res, err := s.engine.Similarity(r.Context(), embedReq)
	if err != nil {
		writeError(w, r, err)
		return
	}
	ri.model, ri.tokens, ri.stats = res.Model, res.PromptTokens, res.Stats
	if len(res.Scores) != len(in.Sentences) {
		writeError(w, r, fmt.Errorf("the engine returned %d similarities for %d sentences", len(res.Scores), len(in.Sentences)))
		return
	}
	writeJSON(w, r, http.StatusOK, res.Scores)
}
