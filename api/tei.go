package api

import "encoding/json"

// Hugging Face text-embeddings-inference's wire format (router/src/http/types.rs
// and router/src/lib.rs in huggingface/text-embeddings-inference), all of it
// in one place. POST /embed answers with a bare [][]float32, POST /rerank
// with a bare []TEIRank.

// TEIEmbedRequest is the body of POST /embed.
type TEIEmbedRequest struct {
	// Inputs is string | string[] | int[] | int[][], as in OpenAI's input.
	Inputs json.RawMessage `json:"inputs"`
	// Normalize L2-normalizes each vector; absent means true, as in TEI.
	Normalize *bool `json:"normalize"`
	// Truncate absent means the server's --auto-truncate, as in TEI.
	Truncate *bool `json:"truncate"`
	// TruncationDirection is TEI's "Left" or "Right"; we only cut on the
	// right, so "Left" is refused rather than silently ignored.
	TruncationDirection string `json:"truncation_direction"`
	// PromptName selects a sentence-transformers prompt in TEI. We know a
	// model's query and document prompts (the catalog's prefixes, else
	// the GGUF's): "query", and "document", "passage" or "corpus" (the
	// names the converter reads them from). Others are refused, since
	// ignoring one would give the wrong vectors.
	PromptName *string `json:"prompt_name"`
	Dimensions *int    `json:"dimensions"`
	// Model is our extension: TEI serves one model, we serve several.
	Model string `json:"model"`
}

// TEIEmbedAllRequest is the body of POST /embed_all, which answers with a
// bare [][][]float32: per input, one vector per token (special tokens
// included), the model's hidden states before pooling, not normalized. Its
// fields mean what /embed's of the same names mean; TEI's /embed_all has
// no normalize or dimensions.
type TEIEmbedAllRequest struct {
	Inputs              json.RawMessage `json:"inputs"`
	Truncate            *bool           `json:"truncate"`
	TruncationDirection string          `json:"truncation_direction"`
	PromptName          *string         `json:"prompt_name"`
	Model               string          `json:"model"` // our extension, as in /embed
}

// TEIEmbedSparseRequest is the body of POST /embed_sparse, which answers
// with a bare [][]TEISparseValue: per input, the lexical weight of each of
// its token ids (BGE-M3's sparse head; special tokens and zero weights
// left out). The fields mean what /embed's of the same names mean.
type TEIEmbedSparseRequest struct {
	Inputs              json.RawMessage `json:"inputs"`
	Truncate            *bool           `json:"truncate"`
	TruncationDirection string          `json:"truncation_direction"`
	PromptName          *string         `json:"prompt_name"`
	Model               string          `json:"model"` // our extension, as in /embed
	// ReturnText is our extension: each value carries its token's text.
	ReturnText bool `json:"return_text"`
}

// TEISparseValue is one token id's weight, TEI's SparseValue; sorted by
// index. Sparse-vector stores (Qdrant, Milvus, Elasticsearch) take the
// same index/value pairs.
type TEISparseValue struct {
	Index int32   `json:"index"`
	Value float32 `json:"value"`
	Text  *string `json:"text,omitempty"` // with return_text
}

// TEIEmbedColBERTRequest is the body of POST /embed_colbert, which answers
// with a bare [][][]float32: per input, one L2-normalized ColBERT vector
// per token after the first (BGE-M3's colbert_linear on the token states,
// as FlagEmbedding returns colbert_vecs). /embed_all, by contrast, gives
// the raw hidden states of every token. Fields as in /embed_all.
type TEIEmbedColBERTRequest = TEIEmbedAllRequest

// TEIRerankRequest is the body of POST /rerank when it carries "texts".
type TEIRerankRequest struct {
	Query string   `json:"query"`
	Texts []string `json:"texts"`
	// RawScores returns the classifier's logit instead of its sigmoid.
	RawScores  bool `json:"raw_scores"`
	ReturnText bool `json:"return_text"`
	// Truncate cuts a text that does not fit beside the query; absent or
	// false scores it in overlapping chunks instead (TEI would refuse it),
	// whatever --auto-truncate says: chunking never fails on a long text.
	Truncate            *bool  `json:"truncate"`
	TruncationDirection string `json:"truncation_direction"`
	Model               string `json:"model"` // our extension, as in /embed
	// HybridWeights as in CohereRerankRequest (our extension).
	HybridWeights *HybridWeights `json:"hybrid_weights"`
	// Instruction as in CohereRerankRequest (our extension).
	Instruction string `json:"instruction"`
}

// TEIRank is one element of POST /rerank's answer, sorted by score.
type TEIRank struct {
	Index int     `json:"index"`
	Text  *string `json:"text,omitempty"` // with return_text
	Score float64 `json:"score"`
}

// TEIError is TEI's error body. ErrorType is one of TEI's names:
// Validation, Empty, Overloaded, Unhealthy, Backend (server/errors.go
// maps errors to them).
type TEIError struct {
	Error     string `json:"error"`
	ErrorType string `json:"error_type"`
}

// TEITokenizeRequest is the body of POST /tokenize.
type TEITokenizeRequest struct {
	// Inputs is string | string[].
	Inputs json.RawMessage `json:"inputs"`
	// AddSpecialTokens absent means true, as in TEI: [CLS] ... [SEP].
	AddSpecialTokens *bool `json:"add_special_tokens"`
	// PromptName as in /embed; offsets then count from the prompt's start.
	PromptName *string `json:"prompt_name"`
	Model      string  `json:"model"` // our extension, as in /embed
}

// TEIToken is one token of POST /tokenize's answer, a [][]TEIToken with one
// list per input. As in TEI, text is the input's bytes [start, stop) when
// the offsets are known, and the vocabulary entry with null offsets for
// special tokens added around the text (and for a piece of a llama.cpp
// tokenizer that could not be located in the text).
type TEIToken struct {
	ID      int32  `json:"id"`
	Text    string `json:"text"`
	Special bool   `json:"special"`
	Start   *int   `json:"start"`
	Stop    *int   `json:"stop"`
}

// TEIDecodeRequest is the body of POST /decode, which answers with a bare
// []string, one text per id list (a single list too, as in TEI).
type TEIDecodeRequest struct {
	// IDs is int[] | int[][].
	IDs json.RawMessage `json:"ids"`
	// SkipSpecialTokens absent means true, as in TEI.
	SkipSpecialTokens *bool  `json:"skip_special_tokens"`
	Model             string `json:"model"` // our extension, as in /embed
}

// TEISimilarityRequest is the body of POST /similarity, which answers with
// a bare []float32: the cosine similarity of each sentence to the source
// sentence.
type TEISimilarityRequest struct {
	Inputs     TEISimilarityInput       `json:"inputs"`
	Parameters *TEISimilarityParameters `json:"parameters"`
	Model      string                   `json:"model"` // our extension, as in /embed
}

// TEISimilarityInput is Hugging Face's sentence-similarity input.
type TEISimilarityInput struct {
	SourceSentence string   `json:"source_sentence"`
	Sentences      []string `json:"sentences"`
}

// TEISimilarityParameters are /embed's fields of the same names.
type TEISimilarityParameters struct {
	Truncate            *bool   `json:"truncate"`
	TruncationDirection string  `json:"truncation_direction"`
	PromptName          *string `json:"prompt_name"`
}
