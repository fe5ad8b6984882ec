package server

import (
	"net/http"

	"github.com/rerank-api/rerank-api/api"
)

// Each family's error envelope and the statuses its model routes answer
// (errors.go): a request the client can fix (400), an unknown model (404),
// too many inputs or too large a body (413), a body that is not JSON
// (415), a model that cannot serve the request (422), overload (429) and a
// model that is missing or loading (503).
var (
	openAIErrors = []any{api.OpenAIErrorResponse{}}
	teiErrors    = []any{api.TEIError{}}
	cohereErrors = []any{api.CohereError{}}
	ollamaErrors = []any{api.OllamaError{}}
	modelErrors  = []int{400, 404, 413, 415, 422, 429, 503}
)

var (
	post   = []string{http.MethodPost}
	getAll = []string{http.MethodGet, http.MethodHead}
)

// openAPIOperations describe every route of New's router for GET
// /openapi.json; openAPIDocument fails on a route missing here.
var openAPIOperations = []openAPIOperation{
	{path: "/v1/embeddings", methods: post, tag: "OpenAI", summary: "Embeddings (OpenAI)",
		request: []any{api.OpenAIEmbeddingRequest{}}, response: []any{api.OpenAIEmbeddingResponse{}}, errors: modelErrors, errorBody: openAIErrors},
	{path: "/embeddings", methods: post, tag: "OpenAI", summary: "Embeddings (OpenAI, for clients whose base URL has no /v1)",
		request: []any{api.OpenAIEmbeddingRequest{}}, response: []any{api.OpenAIEmbeddingResponse{}}, errors: modelErrors, errorBody: openAIErrors},
	{path: "/v1/models", methods: getAll, tag: "OpenAI", summary: "The catalog's models (OpenAI)",
		response: []any{api.OpenAIModelList{}}, errorBody: openAIErrors},

	{path: "/v1/rerank", methods: post, tag: "Cohere", summary: "Rerank documents (Cohere v1, Jina)",
		request: []any{api.CohereRerankRequest{}}, response: []any{api.CohereRerankResponse{}}, errors: modelErrors, errorBody: cohereErrors},
	{path: "/v2/rerank", methods: post, tag: "Cohere", summary: "Rerank documents (Cohere v2)",
		request: []any{api.CohereRerankRequest{}}, response: []any{api.CohereRerankResponse{}}, errors: modelErrors, errorBody: cohereErrors},
	{path: "/v1/embed", methods: post, tag: "Cohere", summary: "Embed texts (Cohere v1)",
		request: []any{api.CohereEmbedRequest{}}, response: []any{api.CohereEmbedResponse{}}, errors: modelErrors, errorBody: cohereErrors},
	{path: "/v2/embed", methods: post, tag: "Cohere", summary: "Embed texts (Cohere v2)",
		request: []any{api.CohereEmbedRequest{}}, response: []any{api.CohereEmbedResponse{}}, errors: modelErrors, errorBody: cohereErrors},

	{path: "/embed", methods: post, tag: "TEI", summary: "Embed inputs (TEI)",
		request: []any{api.TEIEmbedRequest{}}, response: []any{[][]float32{}}, errors: modelErrors, errorBody: teiErrors},
	{path: "/embed_all", methods: post, tag: "TEI", summary: "Every token's vector before pooling (TEI)",
		request: []any{api.TEIEmbedAllRequest{}}, response: []any{[][][]float32{}}, errors: modelErrors, errorBody: teiErrors},
	{path: "/embed_sparse", methods: post, tag: "TEI", summary: "Lexical weight per token id, BGE-M3's sparse output (TEI)",
		request: []any{api.TEIEmbedSparseRequest{}}, response: []any{[][]api.TEISparseValue{}}, errors: modelErrors, errorBody: teiErrors},
	{path: "/embed_colbert", methods: post, tag: "TEI", summary: "Normalized ColBERT vector per token after the first, BGE-M3's multi-vector output",
		request: []any{api.TEIEmbedColBERTRequest{}}, response: []any{[][][]float32{}}, errors: modelErrors, errorBody: teiErrors},
	{path: "/rerank", methods: post, tag: "TEI", summary: `Rerank texts (TEI), or documents in Cohere's shape when the body has "documents"`,
		request: []any{api.TEIRerankRequest{}, api.CohereRerankRequest{}}, response: []any{[]api.TEIRank{}, api.CohereRerankResponse{}},
		errors: modelErrors, errorBody: []any{api.TEIError{}, api.CohereError{}}},
	{path: "/tokenize", methods: post, tag: "TEI", summary: "Tokenize inputs (TEI)",
		request: []any{api.TEITokenizeRequest{}}, response: []any{[][]api.TEIToken{}}, errors: modelErrors, errorBody: teiErrors},
	{path: "/decode", methods: post, tag: "TEI", summary: "Token ids back to text (TEI)",
		request: []any{api.TEIDecodeRequest{}}, response: []any{[]string{}}, errors: modelErrors, errorBody: teiErrors},
	{path: "/similarity", methods: post, tag: "TEI", summary: "Cosine similarity of sentences to a source sentence (TEI)",
		request: []any{api.TEISimilarityRequest{}}, response: []any{[]float32{}}, errors: modelErrors, errorBody: teiErrors},
	{path: "/info", methods: getAll, tag: "TEI", summary: "Version, devices and limits (TEI)",
		response: []any{api.Info{}}, errorBody: openAIErrors},

	{path: "/api/embed", methods: post, tag: "Ollama", summary: "Embed inputs (Ollama)",
		request: []any{api.OllamaEmbedRequest{}}, response: []any{api.OllamaEmbedResponse{}}, errors: modelErrors, errorBody: ollamaErrors},
	{path: "/api/embeddings", methods: post, tag: "Ollama", summary: "Embed one prompt (Ollama's older API)",
		request: []any{api.OllamaEmbeddingRequest{}}, response: []any{api.OllamaEmbeddingResponse{}}, errors: modelErrors, errorBody: ollamaErrors},
	{path: "/api/tags", methods: getAll, tag: "Ollama", summary: "Downloaded models (Ollama)",
		response: []any{api.OllamaModelList{}}, errorBody: ollamaErrors},
	{path: "/api/show", methods: post, tag: "Ollama", summary: "One model's details (Ollama)",
		request: []any{api.OllamaShowRequest{}}, response: []any{api.OllamaShowResponse{}}, errors: []int{400, 404, 415}, errorBody: ollamaErrors},
	{path: "/api/version", methods: getAll, tag: "Ollama", summary: "Server version (Ollama)",
		response: []any{api.OllamaVersion{}}, errorBody: ollamaErrors},

	{path: "/models", methods: getAll, tag: "rerank-api", summary: "The catalog, with each model's local state",
		response: []any{api.CatalogModelList{}}, errorBody: openAIErrors},
	{path: "/health", methods: getAll, tag: "rerank-api", summary: "Liveness",
		response: []any{api.Health{}}, errorBody: openAIErrors},
	{path: "/ready", methods: getAll, tag: "rerank-api", summary: "Readiness: 503 until the default models can serve",
		response: []any{api.Health{}}, errors: []int{503}, errorBody: []any{api.Health{}}},
	{path: "/metrics", methods: getAll, tag: "rerank-api", summary: "Prometheus metrics, in Prometheus' text exposition format",
		response: []any{""}, responseType: "text/plain", errorBody: openAIErrors},
	{path: "/openapi.json", methods: getAll, tag: "rerank-api", summary: "This document",
		response: []any{map[string]any{}}, errorBody: openAIErrors},
}
