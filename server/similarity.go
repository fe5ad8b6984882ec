package server

import (
	"net/http"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/backend"
)

// teiSimilarity serves TEI's POST /similarity: the cosine similarity of
// each sentence to the source sentence, from the model's embeddings.
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
	normalize := true // so that a dot product is the cosine
	embedReq.Normalize = &normalize
	res, err := s.embed(r, embedReq)
	if err != nil {
		writeError(w, r, err)
		return
	}
	source := res.Vectors[0]
	scores := make([]float32, len(in.Sentences))
	for i, v := range res.Vectors[1:] {
		var dot float64
		for j := range min(len(source), len(v)) {
			dot += float64(source[j]) * float64(v[j])
		}
		scores[i] = float32(dot)
	}
	writeJSON(w, r, http.StatusOK, scores)
}
