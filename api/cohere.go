package api

import "encoding/json"

// Cohere's and Jina's rerank wire format, all of it in one place. References:
// https://docs.cohere.com/v1/reference/rerank (v1: strings or objects with
// rank_fields, max_chunks_per_doc), https://docs.cohere.com/reference/rerank
// (v2: strings, max_tokens_per_doc, no document echo by default) and
// https://jina.ai/reranker (Jina's /v1/rerank: Cohere v1's request, plus
// model and usage in the response, documents echoed by default).
//
// POST /v1/rerank serves Cohere v1 and Jina clients with one superset
// response; POST /v2/rerank serves Cohere v2. Both read every field either
// version ever had, so an older or newer client works on either path.

// CohereRerankRequest is the body of POST /v1/rerank and /v2/rerank (and of
// POST /rerank when it carries "documents").
type CohereRerankRequest struct {
	// Model is a catalog name or Hugging Face id; "" selects the default
	// reranker (RERANKER_MODEL_NAME).
	Model string `json:"model"`
	Query string `json:"query"`
	// Documents are strings or objects: {"text": ...}, or any fields of
	// which RankFields chooses the ones to rank by (one field ranks as its
	// value, several as "field: value" lines).
	Documents []json.RawMessage `json:"documents"`
	// TopN keeps the N best; absent keeps all.
	TopN *int `json:"top_n"`
	// ReturnDocuments echoes each document in its result. Absent means true
	// on /v1 (Jina's default; Cohere v1 clients ignore the extra field) and
	// false on /v2 (Cohere v2's).
	ReturnDocuments *bool    `json:"return_documents"`
	RankFields      []string `json:"rank_fields"`
	// MaxChunksPerDoc caps the overlapping chunks a long document is scored
	// in; absent means 10, Cohere v1's default.
	MaxChunksPerDoc *int `json:"max_chunks_per_doc"`
	// MaxTokensPerDoc cuts each document to this many tokens first, as
	// Cohere v2 documents it; absent means no cut.
	MaxTokensPerDoc *int `json:"max_tokens_per_doc"`
	// RawScores and Truncate are our extensions, as in TEI's /rerank:
	// logits instead of probabilities, and cutting a long document to what
	// fits beside the query instead of chunking it.
	RawScores bool  `json:"raw_scores"`
	Truncate  *bool `json:"truncate"`
}

// CohereRerankResponse is Cohere's response; Model and Usage are Jina's
// additions, sent on /v1 only.
type CohereRerankResponse struct {
	ID      string               `json:"id"` // the request id (X-Request-Id)
	Results []CohereRerankResult `json:"results"`
	Model   string               `json:"model,omitempty"`
	Usage   *JinaUsage           `json:"usage,omitempty"`
	Meta    CohereMeta           `json:"meta"`
}

type CohereRerankResult struct {
	Index          int     `json:"index"` // position in the request's documents
	RelevanceScore float64 `json:"relevance_score"`
	// Document is a CohereDocument for a string document and the object as
	// sent for an object document (Cohere v1 preserves every field).
	Document json.RawMessage `json:"document,omitempty"`
}

// CohereDocument is how a result echoes a document sent as a string.
type CohereDocument struct {
	Text string `json:"text"`
}

type CohereMeta struct {
	APIVersion  CohereAPIVersion  `json:"api_version"`
	BilledUnits CohereBilledUnits `json:"billed_units"`
	Tokens      CohereTokens      `json:"tokens"`
}

type CohereAPIVersion struct {
	Version string `json:"version"` // "1" or "2"
}

// CohereBilledUnits counts search units as Cohere bills them: one per query
// with up to 100 documents, each chunk of a long document counting as one.
type CohereBilledUnits struct {
	SearchUnits int `json:"search_units"`
}

type CohereTokens struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"` // always 0: rerankers generate nothing
}

type JinaUsage struct {
	TotalTokens  int `json:"total_tokens"`
	PromptTokens int `json:"prompt_tokens"`
}

// CohereError is Cohere's error body (e.g. {"id": "...", "message":
// "invalid request: list of documents must not be empty"}).
type CohereError struct {
	ID      string `json:"id"`
	Message string `json:"message"`
}
