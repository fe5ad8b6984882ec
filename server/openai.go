package server

import "encoding/json"

// OpenAI's wire format, all of it in one place. Reference:
// https://platform.openai.com/docs/api-reference/embeddings and
// https://platform.openai.com/docs/guides/error-codes.

// openAIEmbeddingRequest is the body of POST /v1/embeddings. Fields we do not
// read, such as "user", are accepted and ignored like any unknown field.
type openAIEmbeddingRequest struct {
	// Input is string | string[] | int[] | int[][]; parseInputs tells them
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
}

type openAIEmbeddingResponse struct {
	Object string            `json:"object"` // always "list"
	Data   []openAIEmbedding `json:"data"`
	Model  string            `json:"model"`
	Usage  openAIUsage       `json:"usage"`
}

type openAIEmbedding struct {
	Object string `json:"object"` // always "embedding"
	Index  int    `json:"index"`
	// Embedding is a []float32, or a base64 string for encoding_format base64.
	Embedding any `json:"embedding"`
}

type openAIUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

// openAIModelList is the body of GET /v1/models.
type openAIModelList struct {
	Object string        `json:"object"` // always "list"
	Data   []openAIModel `json:"data"`
}

type openAIModel struct {
	ID      string `json:"id"`
	Object  string `json:"object"`  // always "model"
	Created int64  `json:"created"` // unknown for local models: 0
	OwnedBy string `json:"owned_by"`
}

type openAIErrorResponse struct {
	Error openAIError `json:"error"`
}

// openAIError always carries param and code, as null when they do not apply,
// because OpenAI's clients read them without checking for presence.
type openAIError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"` // invalid_request_error, not_found_error or server_error
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}
