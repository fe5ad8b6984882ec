package api

import "encoding/json"

// OpenAI's wire format, all of it in one place. Reference:
// https://platform.openai.com/docs/api-reference/embeddings and
// https://platform.openai.com/docs/guides/error-codes.

// OpenAIEmbeddingRequest is the body of POST /v1/embeddings. Fields we do not
// read, such as "user", are accepted and ignored like any unknown field.
type OpenAIEmbeddingRequest struct {
	// Input is string | string[] | int[] | int[][]; the server tells them
	// apart.
	Input json.RawMessage `json:"input"`
	// Model is a catalog name or Hugging Face id; "" selects the default.
	Model string `json:"model"`
	// EncodingFormat is "float" (the default) or "base64": the vector's
	// little-endian float32 bytes, base64-encoded. The official OpenAI
	// clients ask for base64 unless told otherwise.
	EncodingFormat string `json:"encoding_format"`
	// Dimensions keeps the first N components (Matryoshka) and re-normalizes.
	Dimensions *int `json:"dimensions"`
	// Truncate is our extension: cut inputs longer than the model's maximum
	// instead of failing. Absent means the server's --auto-truncate.
	Truncate *bool `json:"truncate"`
	// InputType is our extension, after Cohere's embed API: "query" or
	// "document" ("search_query", "search_document") prepends the model's
	// query or document prefix to every input. Absent prepends nothing.
	InputType *string `json:"input_type"`
	// Instruction is our extension for models that take a task
	// instruction (Qwen3-Embedding, e5-mistral): it replaces the default
	// one in the query prefix, "Instruct: {instruction}\nQuery:", and makes
	// every input a query. A model without one answers 400.
	Instruction *string `json:"instruction"`
	// Task selects a task adapter, as the Jina embeddings API names it:
	// jina-embeddings-v3's "retrieval.query", "retrieval.passage",
	// "separation", "classification" or "text-matching", each with its
	// own instruction before the text. Absent means input_type's task
	// (query: retrieval.query, document: retrieval.passage), else the
	// model's base weights. A model without task adapters answers 400.
	Task *string `json:"task"`
	// Outputs is our extension for models with BGE-M3's heads: any of
	// "dense", "sparse" and "colbert", all computed in one encode. Each
	// data item then carries embedding (dense), sparse and colbert as
	// asked. Absent means ["dense"]: a plain OpenAI request is unchanged.
	Outputs []string `json:"outputs"`
}

type OpenAIEmbeddingResponse struct {
	Object string            `json:"object"` // always "list"
	Data   []OpenAIEmbedding `json:"data"`
	Model  string            `json:"model"`
	Usage  OpenAIUsage       `json:"usage"`
}

type OpenAIEmbedding struct {
	Object string `json:"object"` // always "embedding"
	Index  int    `json:"index"`
	// Embedding is a []float32, or a base64 string for encoding_format
	// base64; absent only when "outputs" leaves out "dense".
	Embedding any `json:"embedding,omitempty"`
	// Sparse and ColBERT are sent when "outputs" asks for them: the
	// token weights of /embed_sparse and the vectors of /embed_colbert.
	Sparse  []TEISparseValue `json:"sparse,omitempty"`
	ColBERT [][]float32      `json:"colbert,omitempty"`
}

type OpenAIUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

// OpenAIModelList is the body of GET /v1/models.
type OpenAIModelList struct {
	Object string        `json:"object"` // always "list"
	Data   []OpenAIModel `json:"data"`
}

type OpenAIModel struct {
	ID      string `json:"id"`
	Object  string `json:"object"`  // always "model"
	Created int64  `json:"created"` // unknown for local models: 0
	OwnedBy string `json:"owned_by"`
}

type OpenAIErrorResponse struct {
	Error OpenAIError `json:"error"`
}

// OpenAIError always carries param and code, as null when they do not apply,
// because OpenAI's clients read them without checking for presence.
type OpenAIError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"` // invalid_request_error, not_found_error or server_error
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}
