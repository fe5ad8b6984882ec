package server

import (
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/backend"
)

// cohereEmbedV1 serves POST /v1/embed for Cohere v1 clients.
func (s *server) cohereEmbedV1(w http.ResponseWriter, r *http.Request) { s.cohereEmbed(w, r, "1") }

// cohereEmbedV2 serves POST /v2/embed for Cohere v2 clients.
func (s *server) cohereEmbedV2(w http.ResponseWriter, r *http.Request) { s.cohereEmbed(w, r, "2") }

func (s *server) cohereEmbed(w http.ResponseWriter, r *http.Request, version string) {
	var req api.CohereEmbedRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	embedReq, texts, err := s.cohereEmbedRequest(req, version)
	if err != nil {
		writeError(w, r, err)
		return
	}
	types := req.EmbeddingTypes
	if err := checkEmbeddingTypes(types); err != nil {
		writeError(w, r, err)
		return
	}
	res, err := s.embed(r, embedReq)
	if err != nil {
		writeError(w, r, err)
		return
	}
	resp := api.CohereEmbedResponse{
		ID:    info(r).id,
		Texts: texts,
		Meta: api.CohereEmbedMeta{
			APIVersion:  api.CohereAPIVersion{Version: version},
			BilledUnits: api.CohereEmbedBilledUnits{InputTokens: res.PromptTokens},
		},
	}
	switch {
	case version == "1" && len(types) == 0:
		resp.ResponseType, resp.Embeddings = "embeddings_floats", res.Vectors
	case version == "1":
		resp.ResponseType, resp.Embeddings = "embeddings_by_type", cohereEmbeddings(res.Vectors, types)
	default:
		if len(types) == 0 {
			types = []string{"float"}
		}
		resp.Embeddings = cohereEmbeddings(res.Vectors, types)
	}
	writeJSON(w, r, http.StatusOK, resp)
}

// cohereInputTypes maps Cohere's input_type; classification and clustering
// texts are neither queries nor documents, and take no prefix (a model with
// task adapters, jina-embeddings-v3, picks its task for them).
var cohereInputTypes = map[string]backend.InputType{
	"search_query": backend.InputQuery, "search_document": backend.InputDocument,
	"classification": backend.InputClassification, "clustering": backend.InputClustering,
}

// cohereEmbedRequest validates req and builds the engine request and the
// texts the response echoes.
func (s *server) cohereEmbedRequest(req api.CohereEmbedRequest, version string) (backend.EmbedRequest, []string, error) {
	if len(req.Images) > 0 {
		return backend.EmbedRequest{}, nil, invalidField("images", "images are not supported: the models embed text only; send \"texts\"")
	}
	texts, param, err := cohereTexts(req)
	if err != nil {
		return backend.EmbedRequest{}, nil, err
	}
	if version == "2" && req.InputType == "" {
		return backend.EmbedRequest{}, nil, invalidField("input_type",
			`"input_type" is required: send "search_query", "search_document", "classification" or "clustering"`)
	}
	var inputType *string
	if req.InputType != "" {
		inputType = &req.InputType
	}
	t, err := parseInputType("input_type", inputType, cohereInputTypes)
	if err != nil {
		return backend.EmbedRequest{}, nil, err
	}
	inputs := make([]backend.Input, len(texts))
	for i, text := range texts {
		inputs[i] = backend.Input{Text: text}
	}
	embedReq, err := s.newEmbedRequest(req.Model, inputs, param, "output_dimension", req.OutputDimension)
	if err != nil {
		return backend.EmbedRequest{}, nil, err
	}
	embedReq.InputType = t
	switch strings.ToUpper(req.Truncate) {
	case "NONE":
		embedReq.Truncate = false
	case "", "END":
		embedReq.Truncate = true
	case "START":
		embedReq.Truncate, embedReq.TruncateStart = true, true
	default:
		return backend.EmbedRequest{}, nil, invalidField("truncate",
			`"truncate" must be "NONE", "START" or "END", not %q`, req.Truncate)
	}
	if req.MaxTokens != nil {
		if *req.MaxTokens < 1 {
			return backend.EmbedRequest{}, nil, invalidField("max_tokens",
				`"max_tokens" must be a positive integer, not %d; leave it out to keep the model's maximum length`, *req.MaxTokens)
		}
		embedReq.MaxTokens = *req.MaxTokens
	}
	return embedReq, texts, nil
}

// cohereTexts reads the texts to embed from "texts" or, on v2, from the text
// parts of "inputs" (joined by newlines), and says which field they came
// from, for errors.
func cohereTexts(req api.CohereEmbedRequest) ([]string, string, error) {
	switch {
	case len(req.Texts) > 0 && len(req.Inputs) > 0:
		return nil, "", invalidField("texts", `send "texts" or "inputs", not both`)
	case len(req.Inputs) > 0:
		texts := make([]string, len(req.Inputs))
		for i, in := range req.Inputs {
			var parts []string
			for j, c := range in.Content {
				if c.Type != "text" {
					return nil, "", invalidField("inputs",
						`inputs[%d].content[%d] is of type %q; images are not supported: the models embed text only, send "type": "text"`, i, j, c.Type)
				}
				parts = append(parts, c.Text)
			}
			if texts[i] = strings.Join(parts, "\n"); texts[i] == "" {
				return nil, "", emptyInput("inputs", "inputs[%d] has no text; send at least one text content part", i)
			}
		}
		return texts, "inputs", nil
	case req.Texts == nil:
		return nil, "", invalidField("texts", `"texts" is required: send an array of strings`)
	case len(req.Texts) == 0:
		return nil, "", emptyInput("texts", `"texts" is an empty array; send at least one text`)
	}
	for i, text := range req.Texts {
		if text == "" {
			return nil, "", emptyInput("texts", "texts[%d] is an empty string; send some text", i)
		}
	}
	return req.Texts, "texts", nil
}

// embeddingTypes are the embedding_types values, in api.CohereEmbeddings'
// field order.
var embeddingTypes = []string{"float", "int8", "uint8", "binary", "ubinary", "base64"}

func checkEmbeddingTypes(types []string) error {
	for _, t := range types {
		if !slices.Contains(embeddingTypes, t) {
			return invalidField("embedding_types", `"embedding_types" holds %q; the types are "%s"`,
				t, strings.Join(embeddingTypes, `", "`))
		}
	}
	return nil
}

// cohereEmbeddings encodes vecs in each of types.
func cohereEmbeddings(vecs [][]float32, types []string) api.CohereEmbeddings {
	var out api.CohereEmbeddings
	for _, t := range types {
		switch t {
		case "float":
			out.Float = vecs
		case "int8":
			out.Int8 = mapVectors(vecs, quantizeInt8)
		case "uint8":
			out.Uint8 = mapVectors(vecs, quantizeUint8)
		case "binary":
			out.Binary = mapVectors(vecs, quantizeBinary)
		case "ubinary":
			out.Ubinary = mapVectors(vecs, quantizeUbinary)
		case "base64":
			out.Base64 = mapVectors(vecs, encodeBase64)
		}
	}
	return out
}

func mapVectors[T any](vecs [][]float32, f func([]float32) T) []T {
	out := make([]T, len(vecs))
	for i, v := range vecs {
		out[i] = f(v)
	}
	return out
}

// quantizeInt8 maps [-1, 1] onto [-127, 127] per dimension (-128 only by
// rounding below -1): the range of a normalized vector's components, fixed
// so that vectors quantized apart compare (api.CohereEmbeddings).
func quantizeInt8(v []float32) []int8 {
	out := make([]int8, len(v))
	for i, x := range v {
		out[i] = int8(min(max(math.Round(float64(x)*127), -128), 127))
	}
	return out
}

// quantizeUint8 maps [-1, 1] onto [0, 255] per dimension.
func quantizeUint8(v []float32) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(min(max(math.Round((float64(x)+1)*127.5), 0), 255))
	}
	return out
}

// quantizeBinary is quantizeUbinary's bytes less 128, as signed bytes:
// sentence-transformers' quantize_embeddings "binary".
func quantizeBinary(v []float32) []int8 {
	bits := quantizeUbinary(v)
	out := make([]int8, len(bits))
	for i, b := range bits {
		out[i] = int8(b - 128)
	}
	return out
}

// quantizeUbinary packs one bit per dimension, 1 where it is positive, eight
// to a byte with the first dimension in the most significant bit, as
// numpy's packbits does; the last byte's unused bits are 0.
func quantizeUbinary(v []float32) []int {
	out := make([]int, (len(v)+7)/8)
	for i, x := range v {
		if x > 0 {
			out[i/8] |= 0x80 >> (i % 8)
		}
	}
	return out
}
