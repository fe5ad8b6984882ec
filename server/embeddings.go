package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/backend"
)

// openAIEmbeddings serves POST /v1/embeddings and POST /embeddings.
func (s *server) openAIEmbeddings(w http.ResponseWriter, r *http.Request) {
	var req api.OpenAIEmbeddingRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	var asBase64 bool
	switch req.EncodingFormat {
	case "", "float":
	case "base64":
		asBase64 = true
	default:
		writeError(w, r, invalidField("encoding_format",
			`"encoding_format" must be "float" or "base64", not %q`, req.EncodingFormat))
		return
	}
	inputType, err := parseInputType("input_type", req.InputType, inputTypes)
	if err != nil {
		writeError(w, r, err)
		return
	}
	embedReq, err := s.embedRequest(embedFields{
		inputs:      req.Input,
		inputsParam: "input",
		model:       req.Model,
		dimensions:  req.Dimensions,
		truncate:    req.Truncate,
		inputType:   inputType,
	})
	if err == nil && req.Instruction != nil {
		embedReq.Instruction, err = parseInstruction(*req.Instruction)
	}
	if err == nil && req.Task != nil {
		if embedReq.Task = *req.Task; embedReq.Task == "" {
			err = invalidField("task", `"task" is empty: name one of the model's tasks, e.g. "retrieval.query", or leave it out`)
		}
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	if req.Outputs != nil {
		// Our extension: several outputs of one encode (embed_sparse.go).
		outputs, err := parseOutputs(req.Outputs)
		if err != nil {
			writeError(w, r, err)
			return
		}
		res, err := s.embedOutputs(r, backend.OutputsRequest{EmbedRequest: embedReq, Outputs: outputs})
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, r, http.StatusOK, openAIOutputsResponse(res, len(embedReq.Inputs), asBase64))
		return
	}
	res, err := s.embed(r, embedReq)
	if err != nil {
		writeError(w, r, err)
		return
	}

	writeJSON(w, r, http.StatusOK, OpenAIEmbeddingResponse(res, asBase64))
}

// OpenAIEmbeddingResponse is POST /v1/embeddings' answer for res, with
// each vector as an array of floats or, asBase64, as OpenAI's base64
// string; the CLI's embed prints it too.
func OpenAIEmbeddingResponse(res *backend.EmbedResult, asBase64 bool) api.OpenAIEmbeddingResponse {
	resp := api.OpenAIEmbeddingResponse{
		Object: "list",
		Data:   make([]api.OpenAIEmbedding, len(res.Vectors)),
		Model:  res.Model,
		Usage:  api.OpenAIUsage{PromptTokens: res.PromptTokens, TotalTokens: res.PromptTokens},
	}
	for i, vec := range res.Vectors {
		var emb any = vec
		if asBase64 {
			emb = encodeBase64(vec)
		}
		resp.Data[i] = api.OpenAIEmbedding{Object: "embedding", Index: i, Embedding: emb}
	}
	return resp
}

// teiEmbed serves TEI's POST /embed.
func (s *server) teiEmbed(w http.ResponseWriter, r *http.Request) {
	var req api.TEIEmbedRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	embedReq, err := s.teiEmbedRequest(req.Inputs, req.Model, req.Truncate, req.TruncationDirection, req.PromptName, req.Dimensions)
	if err != nil {
		writeError(w, r, err)
		return
	}
	normalize := req.Normalize == nil || *req.Normalize
	embedReq.Normalize = &normalize
	res, err := s.embed(r, embedReq)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, res.Vectors)
}

// checkTruncationDirection refuses TEI's "Left": we only cut on the right,
// and ignoring it would embed the wrong tokens.
func checkTruncationDirection(d string) error {
	if d != "" && !strings.EqualFold(d, "right") {
		return invalidField("truncation_direction", `"truncation_direction" %q is not supported; only "Right" is`, d)
	}
	return nil
}

// embedFields are the request fields OpenAI and TEI share, still as they
// came off the wire.
type embedFields struct {
	inputs      json.RawMessage
	inputsParam string // "input" or "inputs": the field name errors point at
	model       string
	dimensions  *int
	truncate    *bool
	inputType   backend.InputType
}

// embedRequest validates the shared fields and builds the engine request.
// Normalize stays nil: the catalog's default for the model.
func (s *server) embedRequest(f embedFields) (backend.EmbedRequest, error) {
	inputs, err := parseInputs(f.inputs, f.inputsParam)
	if err != nil {
		return backend.EmbedRequest{}, err
	}
	req, err := s.newEmbedRequest(f.model, inputs, f.inputsParam, "dimensions", f.dimensions)
	if err != nil {
		return backend.EmbedRequest{}, err
	}
	if f.truncate != nil {
		req.Truncate = *f.truncate
	}
	req.InputType = f.inputType
	return req, nil
}

// newEmbedRequest checks what every embeddings route checks, the number of
// inputs and the dimensions (named dimensionsParam on the wire), and builds
// the engine request with the server's default truncation.
func (s *server) newEmbedRequest(model string, inputs []backend.Input, inputsParam, dimensionsParam string, dimensions *int) (backend.EmbedRequest, error) {
	if len(inputs) > s.cfg.MaxClientBatchSize {
		return backend.EmbedRequest{}, tooMany(inputsParam, "inputs", len(inputs), s.cfg.MaxClientBatchSize)
	}
	req := backend.EmbedRequest{Model: model, Inputs: inputs, Truncate: s.cfg.AutoTruncate}
	if dimensions != nil {
		if *dimensions < 1 {
			return backend.EmbedRequest{}, invalidField(dimensionsParam,
				`%q must be a positive integer, not %d; leave it out to get the model's full size`, dimensionsParam, *dimensions)
		}
		req.Dimensions = *dimensions
	}
	return req, nil
}

// parseInstruction checks our instruction extension: present, it must
// say something, or the model would read "Instruct: \nQuery:".
func parseInstruction(instruction string) (string, error) {
	if strings.TrimSpace(instruction) == "" {
		return "", invalidField("instruction", `"instruction" is empty; leave it out to use the model's default task instruction`)
	}
	return instruction, nil
}

// inputTypes are the input_type values /v1/embeddings accepts: ours and
// Cohere's embed API's names for the same two.
var inputTypes = map[string]backend.InputType{
	"query": backend.InputQuery, "search_query": backend.InputQuery,
	"document": backend.InputDocument, "search_document": backend.InputDocument,
}

// promptNames are the prompt_name values TEI's routes accept: the
// sentence-transformers prompt names the converter reads a model's query
// and document prefixes from.
var promptNames = map[string]backend.InputType{
	"query": backend.InputQuery, "document": backend.InputDocument,
	"passage": backend.InputDocument, "corpus": backend.InputDocument,
}

// parseInputType maps an input_type or prompt_name value; absent is "",
// which prepends nothing.
func parseInputType(param string, value *string, names map[string]backend.InputType) (backend.InputType, error) {
	if value == nil {
		return "", nil
	}
	if t, ok := names[*value]; ok {
		return t, nil
	}
	allowed := slices.Sorted(maps.Keys(names))
	for i, n := range allowed {
		allowed[i] = strconv.Quote(n)
	}
	return "", invalidField(param, "%q must be %s or %s, not %q; it selects the model's query or document prefix",
		param, strings.Join(allowed[:len(allowed)-1], ", "), allowed[len(allowed)-1], *value)
}

// embed calls the engine and checks what it returns, so that an engine bug
// becomes a clear 500 rather than a wrong or unencodable answer.
func (s *server) embed(r *http.Request, req backend.EmbedRequest) (*backend.EmbedResult, error) {
	ri := info(r)
	ri.model, ri.inputs = req.Model, len(req.Inputs)
	res, err := s.engine.Embed(r.Context(), req)
	if err != nil {
		return nil, err
	}
	ri.model, ri.tokens, ri.stats = res.Model, res.PromptTokens, res.Stats
	if len(res.Vectors) != len(req.Inputs) {
		return nil, fmt.Errorf("the engine returned %d vectors for %d inputs", len(res.Vectors), len(req.Inputs))
	}
	for i, vec := range res.Vectors {
		for _, x := range vec {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, fmt.Errorf("the engine returned a non-finite value (NaN or Inf) in vector %d; "+
					"this is a bug, please report it with the model and input", i)
			}
		}
	}
	return res, nil
}

// parseInputs reads OpenAI's input or TEI's inputs: a string, an array of
// token ids, or an array whose elements are strings or arrays of token ids.
// param is the field name, for the error messages.
func parseInputs(raw json.RawMessage, param string) ([]backend.Input, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, invalidField(param, "%q is required: send a string, an array of strings, or token ids", param)
	}
	switch raw[0] {
	case '"':
		in, err := parseText(raw, param, elementName{param, -1})
		if err != nil {
			return nil, err
		}
		return []backend.Input{in}, nil
	case '[':
	default:
		return nil, invalidField(param, "%q must be a string, an array of strings, or token ids, not %s",
			param, jsonKind(raw))
	}

	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, invalidField(param, "%q is not a valid array: %v", param, err)
	}
	if len(elems) == 0 {
		return nil, emptyInput(param, "%q is an empty array; send at least one input", param)
	}
	if first := elems[0]; len(first) > 0 && (first[0] == '-' || first[0] >= '0' && first[0] <= '9') {
		// A flat array of numbers is one input given as token ids.
		ids, err := parseTokenIDs(raw, param, elementName{param, -1})
		if err != nil {
			return nil, err
		}
		return []backend.Input{{Tokens: ids}}, nil
	}
	inputs := make([]backend.Input, len(elems))
	for i, elem := range elems {
		at := elementName{param, i}
		var err error
		switch elem[0] {
		case '"':
			inputs[i], err = parseText(elem, param, at)
		case '[':
			inputs[i].Tokens, err = parseTokenIDs(elem, param, at)
		default:
			err = invalidField(param, "%s must be a string or an array of token ids, not %s", at, jsonKind(elem))
		}
		if err != nil {
			return nil, err
		}
	}
	return inputs, nil
}

// parseText reads one JSON string; at names it in errors ("input[3]").
func parseText(raw json.RawMessage, param string, at elementName) (backend.Input, error) {
	var text string
	if err := json.Unmarshal(raw, &text); err != nil {
		return backend.Input{}, invalidField(param, "%s is not a valid string: %v", at, err)
	}
	if text == "" {
		return backend.Input{}, emptyInput(param, "%s is an empty string; send some text", at)
	}
	return backend.Input{Text: text}, nil
}

// parseTokenIDs reads one array of token ids; the engine checks that they
// are in the model's vocabulary.
func parseTokenIDs(raw json.RawMessage, param string, at elementName) ([]int32, error) {
	var ids []int32
	if err := json.Unmarshal(raw, &ids); err != nil {
		return nil, invalidField(param, "%s must be an array of integer token ids", at)
	}
	if len(ids) == 0 {
		return nil, emptyInput(param, "%s is an empty array of token ids; send at least one", at)
	}
	return ids, nil
}

// jsonKind names the kind of a JSON value for error messages.
func jsonKind(raw json.RawMessage) string {
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}
