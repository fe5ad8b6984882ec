package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/backend"
)

// cohereRerankV1 serves POST /v1/rerank for Cohere v1 and Jina clients.
func (s *server) cohereRerankV1(w http.ResponseWriter, r *http.Request) { s.cohereRerank(w, r, "1") }

// cohereRerankV2 serves POST /v2/rerank for Cohere v2 clients.
func (s *server) cohereRerankV2(w http.ResponseWriter, r *http.Request) { s.cohereRerank(w, r, "2") }

func (s *server) cohereRerank(w http.ResponseWriter, r *http.Request, version string) {
	var req api.CohereRerankRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	s.serveCohereRerank(w, r, req, version)
}

// teiOrCohereRerank serves POST /rerank, which TEI clients send with
// "texts" and some Cohere/Jina clients (those configured with a base URL
// without /v1) with "documents".
func (s *server) teiOrCohereRerank(w http.ResponseWriter, r *http.Request) {
	var body json.RawMessage
	if err := s.decodeJSON(w, r, &body); err != nil {
		writeError(w, r, err)
		return
	}
	var shape struct {
		Texts     json.RawMessage `json:"texts"`
		Documents json.RawMessage `json:"documents"`
	}
	if err := json.Unmarshal(body, &shape); err != nil {
		writeError(w, r, decodeError(err))
		return
	}
	present := func(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }
	switch {
	case present(shape.Texts):
		var req api.TEIRerankRequest
		if err := json.Unmarshal(body, &req); err != nil {
			writeError(w, r, decodeError(err))
			return
		}
		s.serveTEIRerank(w, r, req)
	case present(shape.Documents):
		info(r).family = familyCohere
		var req api.CohereRerankRequest
		if err := json.Unmarshal(body, &req); err != nil {
			writeError(w, r, decodeError(err))
			return
		}
		s.serveCohereRerank(w, r, req, "1")
	default:
		writeError(w, r, invalidField("texts",
			`send "query" with "texts" (TEI's rerank) or with "documents" (Cohere's and Jina's)`))
	}
}

func (s *server) serveCohereRerank(w http.ResponseWriter, r *http.Request, req api.CohereRerankRequest, version string) {
	if strings.TrimSpace(req.Query) == "" {
		writeError(w, r, invalidField("query", `"query" is required: send the text to rank the documents against`))
		return
	}
	if err := s.checkDocumentCount(len(req.Documents), "documents"); err != nil {
		writeError(w, r, err)
		return
	}
	docs, err := parseDocuments(req.Documents, req.RankFields)
	if err != nil {
		writeError(w, r, err)
		return
	}
	rr := backend.RerankRequest{Model: req.Model, Query: req.Query, Documents: make([]string, len(docs)), RawScores: req.RawScores, Weights: hybridWeights(req.HybridWeights), Instruction: req.Instruction}
	for i, d := range docs {
		rr.Documents[i] = d.text
	}
	if req.Truncate != nil {
		rr.Truncate = *req.Truncate
	}
	for _, f := range []struct {
		name  string
		value *int
		dst   *int
	}{
		{"top_n", req.TopN, &rr.TopN},
		{"max_chunks_per_doc", req.MaxChunksPerDoc, &rr.MaxChunksPerDoc},
		{"max_tokens_per_doc", req.MaxTokensPerDoc, &rr.MaxTokensPerDoc},
	} {
		if f.value == nil {
			continue
		}
		if *f.value < 1 {
			writeError(w, r, invalidField(f.name, "%q must be a positive integer, not %d; leave it out for the default", f.name, *f.value))
			return
		}
		*f.dst = *f.value
	}
	res, err := s.rerank(r, rr)
	if err != nil {
		writeError(w, r, err)
		return
	}

	returnDocuments := version == "1"
	if req.ReturnDocuments != nil {
		returnDocuments = *req.ReturnDocuments
	}
	var echoes []json.RawMessage
	if returnDocuments {
		echoes = make([]json.RawMessage, len(docs))
		for i, d := range docs {
			echoes[i] = d.echo()
		}
	}
	writeJSON(w, r, http.StatusOK, CohereRerankResponse(info(r).id, version, res, echoes))
}

// CohereRerankResponse is the answer of POST /v1/rerank (version "1",
// with Jina's model and usage) or /v2/rerank ("2") for res. documents are
// what each request document echoes, by index; nil echoes none. The CLI's
// rerank prints it too.
func CohereRerankResponse(id, version string, res *backend.RerankResult, documents []json.RawMessage) api.CohereRerankResponse {
	resp := api.CohereRerankResponse{
		ID:      id,
		Results: make([]api.CohereRerankResult, len(res.Results)),
		Meta: api.CohereMeta{
			APIVersion:  api.CohereAPIVersion{Version: version},
			BilledUnits: api.CohereBilledUnits{SearchUnits: (res.Pairs + 99) / 100},
			Tokens:      api.CohereTokens{InputTokens: res.Tokens},
		},
	}
	if version == "1" {
		resp.Model, resp.Usage = res.Model, &api.JinaUsage{TotalTokens: res.Tokens, PromptTokens: res.Tokens}
	}
	for i, d := range res.Results {
		resp.Results[i] = api.CohereRerankResult{Index: d.Index, RelevanceScore: d.Score}
		if documents != nil {
			resp.Results[i].Document = documents[d.Index]
		}
	}
	return resp
}

func (s *server) serveTEIRerank(w http.ResponseWriter, r *http.Request, req api.TEIRerankRequest) {
	if err := checkTruncationDirection(req.TruncationDirection); err != nil {
		writeError(w, r, err)
		return
	}
	if strings.TrimSpace(req.Query) == "" {
		writeError(w, r, emptyInput("query", `"query" is empty; send the text to rank the texts against`))
		return
	}
	if len(req.Texts) == 0 {
		writeError(w, r, emptyInput("texts", `"texts" is an empty array; send at least one text to rank`))
		return
	}
	if err := s.checkDocumentCount(len(req.Texts), "texts"); err != nil {
		writeError(w, r, err)
		return
	}
	rr := backend.RerankRequest{Model: req.Model, Query: req.Query, Documents: req.Texts, RawScores: req.RawScores, Weights: hybridWeights(req.HybridWeights), Instruction: req.Instruction}
	if req.Truncate != nil {
		rr.Truncate = *req.Truncate
	}
	res, err := s.rerank(r, rr)
	if err != nil {
		writeError(w, r, err)
		return
	}
	ranks := make([]api.TEIRank, len(res.Results))
	for i, d := range res.Results {
		ranks[i] = api.TEIRank{Index: d.Index, Score: d.Score}
		if req.ReturnText {
			ranks[i].Text = &req.Texts[d.Index]
		}
	}
	writeJSON(w, r, http.StatusOK, ranks)
}

func (s *server) checkDocumentCount(n int, param string) error {
	if n == 0 {
		return invalidField(param, "%q is required and must not be empty: send the documents to rank", param)
	}
	if n > s.cfg.MaxRerankDocuments {
		return tooMany(param, "documents", n, s.cfg.MaxRerankDocuments)
	}
	return nil
}

// rerank calls the engine and checks what it returns, so that an engine bug
// becomes a clear 500 rather than a wrong or unencodable answer.
func (s *server) rerank(r *http.Request, req backend.RerankRequest) (*backend.RerankResult, error) {
	ri := info(r)
	ri.model, ri.inputs = req.Model, len(req.Documents)
	res, err := s.engine.Rerank(r.Context(), req)
	if err != nil {
		return nil, err
	}
	ri.model, ri.tokens, ri.stats = res.Model, res.Tokens, res.Stats
	if len(res.Results) > len(req.Documents) {
		return nil, fmt.Errorf("the engine returned %d results for %d documents", len(res.Results), len(req.Documents))
	}
	seen := make([]bool, len(req.Documents))
	for _, d := range res.Results {
		if d.Index < 0 || d.Index >= len(seen) || seen[d.Index] {
			return nil, fmt.Errorf("the engine returned document index %d twice or out of range", d.Index)
		}
		seen[d.Index] = true
		if math.IsNaN(d.Score) || math.IsInf(d.Score, 0) {
			return nil, fmt.Errorf("the engine returned a non-finite score for document %d; "+
				"this is a bug, please report it with the model and input", d.Index)
		}
	}
	return res, nil
}

// rerankDocument is one Cohere/Jina document: the text the model ranks and,
// for an object, the object as sent, which the response echoes.
type rerankDocument struct {
	text   string
	object json.RawMessage // nil for a string document
}

func (d rerankDocument) echo() json.RawMessage {
	if d.object != nil {
		return d.object
	}
	b, _ := json.Marshal(api.CohereDocument{Text: d.text}) // a struct of one string always marshals
	return b
}

// parseDocuments reads Cohere's documents: strings, or objects ranked by
// their "text" field, or by rankFields when given.
func parseDocuments(raw []json.RawMessage, rankFields []string) ([]rerankDocument, error) {
	docs := make([]rerankDocument, len(raw))
	for i, elem := range raw {
		elem = bytes.TrimSpace(elem)
		at := elementName{"documents", i}
		switch {
		case len(elem) > 0 && elem[0] == '"':
			if err := json.Unmarshal(elem, &docs[i].text); err != nil {
				return nil, invalidField("documents", "%s is not a valid string: %v", at, err)
			}
		case len(elem) > 0 && elem[0] == '{':
			// The object is echoed back as sent, and encoding/json copies a
			// RawMessage's bytes: invalid UTF-8 in it would make the
			// response invalid JSON. Each bad byte becomes U+FFFD, as the
			// decoder makes it in every other string (outside strings it
			// rejects such bytes, so only string contents change).
			if !utf8.Valid(elem) {
				elem = []byte(string([]rune(string(elem))))
			}
			var fields map[string]json.RawMessage
			if err := json.Unmarshal(elem, &fields); err != nil {
				return nil, invalidField("documents", "%s is not a valid object: %v", at, err)
			}
			text, err := documentText(fields, rankFields, at)
			if err != nil {
				return nil, err
			}
			docs[i] = rerankDocument{text: text, object: elem}
		default:
			return nil, invalidField("documents", "%s must be a string or an object, not %s", at, jsonKind(elem))
		}
	}
	return docs, nil
}

// documentText is what an object document is ranked by. Without
// rank_fields it is the "text" field. With one rank field it is that
// field's value; with several, one "field: value" line per field in
// rank_fields order: the YAML form Cohere recommends for structured
// documents, so the model sees which value is the title and which the body.
// String values are used as they are; others as compact JSON.
func documentText(fields map[string]json.RawMessage, rankFields []string, at elementName) (string, error) {
	if len(rankFields) == 0 {
		var text string
		raw, ok := fields["text"]
		if !ok || json.Unmarshal(raw, &text) != nil {
			return "", invalidField("documents",
				`%s has no "text" string; send one, or name the fields to rank by in "rank_fields"`, at)
		}
		return text, nil
	}
	lines := make([]string, len(rankFields))
	for j, name := range rankFields {
		raw, ok := fields[name]
		if !ok {
			return "", invalidField("rank_fields", `%s has no field %q named in "rank_fields"`, at, name)
		}
		var value string
		if json.Unmarshal(raw, &value) != nil {
			var compact bytes.Buffer
			if err := json.Compact(&compact, raw); err != nil {
				return "", invalidField("documents", "%s.%s is not valid JSON: %v", at, name, err)
			}
			value = compact.String()
		}
		if len(rankFields) == 1 {
			return value, nil
		}
		lines[j] = name + ": " + value
	}
	return strings.Join(lines, "\n"), nil
}
