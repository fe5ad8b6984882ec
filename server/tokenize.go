package server

import (
	"bytes"
	"net/http"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/backend"
)

// teiTokenize serves TEI's POST /tokenize for any model: the tokens the
// model reads, with their text and byte offsets in each input.
func (s *server) teiTokenize(w http.ResponseWriter, r *http.Request) {
	var req api.TEITokenizeRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	inputType, err := parseInputType("prompt_name", req.PromptName, promptNames)
	if err != nil {
		writeError(w, r, err)
		return
	}
	inputs, err := parseInputs(req.Inputs, "inputs")
	if err != nil {
		writeError(w, r, err)
		return
	}
	if len(inputs) > s.cfg.MaxClientBatchSize {
		writeError(w, r, tooMany("inputs", "inputs", len(inputs), s.cfg.MaxClientBatchSize))
		return
	}
	texts := make([]string, len(inputs))
	for i, in := range inputs {
		if in.Tokens != nil {
			writeError(w, r, invalidField("inputs", `"inputs" must be a string or an array of strings; token ids are already tokenized`))
			return
		}
		texts[i] = in.Text
	}
	ri := info(r)
	ri.model, ri.inputs = req.Model, len(texts)
	res, err := s.engine.Tokenize(r.Context(), backend.TokenizeRequest{
		Model: req.Model, Inputs: texts, AddSpecial: req.AddSpecialTokens == nil || *req.AddSpecialTokens, InputType: inputType,
	})
	if err != nil {
		writeError(w, r, err)
		return
	}
	ri.model = res.Model
	out := make([][]api.TEIToken, len(res.Tokens))
	for i, toks := range res.Tokens {
		out[i] = make([]api.TEIToken, len(toks))
		for j, tok := range toks {
			t := api.TEIToken{ID: tok.ID, Text: tok.Text, Special: tok.Special}
			if tok.Start >= 0 {
				t.Start, t.Stop = &tok.Start, &tok.Stop
			}
			out[i][j] = t
			ri.tokens++
		}
	}
	writeJSON(w, r, http.StatusOK, out)
}

// teiDecode serves TEI's POST /decode for any model: the text of each list
// of token ids, one string per list, a single list too.
func (s *server) teiDecode(w http.ResponseWriter, r *http.Request) {
	var req api.TEIDecodeRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if raw := bytes.TrimSpace(req.IDs); len(raw) == 0 || raw[0] != '[' {
		writeError(w, r, invalidField("ids", `"ids" must be an array of token ids, or an array of such arrays; POST /tokenize gives a text's ids`))
		return
	}
	inputs, err := parseInputs(req.IDs, "ids")
	if err != nil {
		writeError(w, r, err)
		return
	}
	if len(inputs) > s.cfg.MaxClientBatchSize {
		writeError(w, r, tooMany("ids", "inputs", len(inputs), s.cfg.MaxClientBatchSize))
		return
	}
	ids := make([][]int32, len(inputs))
	for i, in := range inputs {
		if in.Tokens == nil {
			writeError(w, r, invalidField("ids", `"ids" must hold token ids, not text; POST /tokenize gives a text's ids`))
			return
		}
		ids[i] = in.Tokens
	}
	ri := info(r)
	ri.model, ri.inputs = req.Model, len(ids)
	res, err := s.engine.Decode(r.Context(), backend.DecodeRequest{
		Model: req.Model, Inputs: ids, SkipSpecial: req.SkipSpecialTokens == nil || *req.SkipSpecialTokens,
	})
	if err != nil {
		writeError(w, r, err)
		return
	}
	ri.model = res.Model
	for _, toks := range ids {
		ri.tokens += len(toks)
	}
	writeJSON(w, r, http.StatusOK, res.Texts)
}
