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
	// HybridWeights is our extension for a model that is an embedding
	// model with sparse and ColBERT heads (bge-m3): how its three scores
	// are weighed. Absent means 0.4/0.2/0.4; a cross-encoder refuses it.
	HybridWeights *HybridWeights `json:"hybrid_weights"`
	// Instruction is our extension for rerankers that take a task
	// instruction (Qwen3-Reranker): it replaces the default one, "Given a
	// web search query, retrieve relevant passages that answer the query".
	// Another reranker answers 400.
	Instruction string `json:"instruction"`
}

// HybridWeights weigh the dense, sparse and ColBERT scores of a rerank by
// an embedding model with BGE-M3's heads, as FlagEmbedding's compute_score
// does: score = (dense·wd + sparse·ws + colbert·wc) / (wd + ws + wc). A
// weight left out is 0.
type HybridWeights struct {
	Dense   float64 `json:"dense"`
	Sparse  float64 `json:"sparse"`
	ColBERT float64 `json:"colbert"`
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

// Cohere's embed wire format: https://docs.cohere.com/v1/reference/embed
// (v1: texts, response_type "embeddings_floats" without embedding_types,
// "embeddings_by_type" with them) and https://docs.cohere.com/reference/embed
// (v2: texts or inputs, input_type required, embeddings always by type).

// CohereEmbedRequest is the body of POST /v1/embed and /v2/embed; each path
// reads every field, so a v1 body with v2's output_dimension works too.
type CohereEmbedRequest struct {
	// Model is a catalog name or Hugging Face id; "" selects the default
	// embedding model (EMBEDDING_MODEL_NAME).
	Model string   `json:"model"`
	Texts []string `json:"texts"`
	// Inputs is v2's alternative to Texts: each input's text parts are
	// joined with "\n"; image parts are refused.
	Inputs []CohereEmbedInput `json:"inputs"`
	// Images (data URIs) are refused: the models are text-only.
	Images []string `json:"images"`
	// InputType is search_query or search_document (the model's query or
	// document prefix), or classification or clustering (no prefix).
	// Required on /v2.
	InputType string `json:"input_type"`
	// EmbeddingTypes picks the encodings (CohereEmbeddings' fields); absent
	// means float, and on /v1 the v1 response shape.
	EmbeddingTypes []string `json:"embedding_types"`
	// Truncate is NONE (a too-long input is an error), START or END (cut
	// from that side); absent means END.
	Truncate string `json:"truncate"`
	// OutputDimension keeps the first N components and renormalizes, as
	// /v1/embeddings' dimensions does.
	OutputDimension *int `json:"output_dimension"`
	// MaxTokens cuts each input to this many tokens, special tokens
	// included, from the side Truncate names (END for NONE).
	MaxTokens *int `json:"max_tokens"`
}

// CohereEmbedInput is one v2 input: a list of content parts.
type CohereEmbedInput struct {
	Content []CohereEmbedContent `json:"content"`
}

// CohereEmbedContent is a part of a v2 input: {"type": "text", "text": ...}
// or {"type": "image_url", "image_url": {...}}, which is refused.
type CohereEmbedContent struct {
	Type     string          `json:"type"`
	Text     string          `json:"text"`
	ImageURL json.RawMessage `json:"image_url,omitempty"`
}

// CohereEmbedResponse is the answer of /v1/embed and /v2/embed. Embeddings
// is [][]float32 for v1 without embedding_types (response_type
// "embeddings_floats") and a CohereEmbeddings otherwise (v1's
// "embeddings_by_type"; v2 sends no response_type).
type CohereEmbedResponse struct {
	ID           string          `json:"id"` // the request id (X-Request-Id)
	ResponseType string          `json:"response_type,omitempty"`
	Embeddings   any             `json:"embeddings"`
	Texts        []string        `json:"texts"`
	Meta         CohereEmbedMeta `json:"meta"`
}

// CohereEmbeddings holds one list per requested embedding type, each with
// one vector per input. Cohere does not publish how it quantizes, so int8,
// uint8, binary and ubinary are our definition, computed from the
// L2-normalized float vector x:
//   - int8:    clamp(round(x·127), -128, 127) per dimension (the range [-1, 1]);
//   - uint8:   clamp(round((x+1)·127.5), 0, 255) per dimension;
//   - binary:  sign bits (x > 0 is 1) packed 8 per byte, most significant bit
//     first, the last byte padded with zero bits, each byte sent as byte-128
//     (sentence-transformers' quantize_embeddings): ceil(dims/8) values;
//   - ubinary: the same bytes, as 0..255.
//
// base64 is the float32s' little-endian bytes in standard base64, as
// /v1/embeddings' encoding_format "base64". The unsigned types are []int:
// encoding/json would send a []uint8 as a base64 string.
type CohereEmbeddings struct {
	Float   [][]float32 `json:"float,omitempty"`
	Int8    [][]int8    `json:"int8,omitempty"`
	Uint8   [][]int     `json:"uint8,omitempty"`
	Binary  [][]int8    `json:"binary,omitempty"`
	Ubinary [][]int     `json:"ubinary,omitempty"`
	Base64  []string    `json:"base64,omitempty"`
}

type CohereEmbedMeta struct {
	APIVersion  CohereAPIVersion       `json:"api_version"`
	BilledUnits CohereEmbedBilledUnits `json:"billed_units"`
}

// CohereEmbedBilledUnits counts the tokens encoded, special tokens and the
// input type's prefix included.
type CohereEmbedBilledUnits struct {
	InputTokens int `json:"input_tokens"`
}
