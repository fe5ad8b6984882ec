package backend

import (
	"errors"
	"time"

	"github.com/rerank-api/rerank-api/catalog"
)

// Errors the engine returns, wrapped with details (fmt.Errorf("%w: ...")).
// Callers map them with errors.Is: the HTTP layer turns each into a status.
var (
	// ErrUnknownModel: the name is neither a catalog name nor a Hugging Face id (404).
	ErrUnknownModel = errors.New("unknown model")
	// ErrUnsupportedModel: the catalog lists the model but llama.cpp cannot run it (422).
	ErrUnsupportedModel = errors.New("model is not supported")
	// ErrWrongKind: e.g. a reranker asked for embeddings (422).
	ErrWrongKind = errors.New("model cannot serve this request")
	// ErrInvalidInput: an empty input, a token id outside the vocabulary,
	// dimensions larger than the model's (400).
	ErrInvalidInput = errors.New("invalid input")
	// ErrInputTooLong: an input exceeds the model's maximum length and
	// truncation was not requested (400).
	ErrInputTooLong = errors.New("input is too long")
	// ErrModelUnavailable: the model file is missing or failed to load (503).
	ErrModelUnavailable = errors.New("model is unavailable")
	// ErrOverloaded: too many requests in progress, or the model's queue
	// is full (429, as TEI answers).
	ErrOverloaded = errors.New("server is overloaded")
	// ErrNonFinite: the model computed NaN or Inf, which JSON cannot carry
	// and no client could use; the weights are likely corrupt (500).
	ErrNonFinite = errors.New("the model produced a non-finite value (NaN or Inf)")
)

// Input is one text to embed, either raw text or token ids already produced
// by the model's tokenizer (OpenAI's int[] input form). Exactly one is set.
type Input struct {
	Text   string
	Tokens []int32
}

// EmbedRequest asks for one embedding per input.
type EmbedRequest struct {
	// Model is a catalog name or Hugging Face id; empty selects the default
	// embedding model.
	Model  string
	Inputs []Input
	// Truncate cuts inputs longer than the model's maximum length instead of
	// failing with ErrInputTooLong.
	Truncate bool
	// TruncateStart cuts an input's beginning rather than its end (Cohere's
	// truncate "START"); the opening special token and the input type's
	// prefix stay.
	TruncateStart bool
	// MaxTokens, when positive, cuts every input to at most this many
	// tokens, special tokens included, whatever Truncate says (Cohere v2's
	// max_tokens); 0 leaves the model's maximum length as the only limit.
	MaxTokens int
	// Normalize L2-normalizes each vector. Nil means the catalog's default
	// for the model.
	Normalize *bool
	// Dimensions keeps the first N components (Matryoshka truncation) and
	// then re-normalizes when normalizing; 0 keeps all.
	Dimensions int
	// InputType prepends the model's query or document prefix to every
	// text input; "" prepends nothing.
	InputType InputType
	// Instruction, for a model that takes one (Qwen3-Embedding,
	// e5-mistral), replaces the default task instruction of its query
	// prefix and makes every input a query; "" keeps the InputType's.
	Instruction string
	// Task selects a model's task adapter and its instruction
	// (jina-embeddings-v3: "retrieval.query", "text-matching", ...);
	// "" takes the InputType's task, or none (tasks.go).
	Task string
	// adapted is set by the paths that encode through a task's adapter
	// (Embed); the others refuse a task rather than pair its instruction
	// with the base weights.
	adapted bool
}

// InputType says whether texts are queries or documents, for models that
// were trained with a prefix on each (e5's "query: ", ruri's "検索クエリ: ").
type InputType string

const (
	InputQuery    InputType = "query"
	InputDocument InputType = "document"
	// InputClassification and InputClustering (Cohere's input types) add
	// no prefix; a model with task adapters embeds them with its
	// classification or clustering task (tasks.go).
	InputClassification InputType = "classification"
	InputClustering     InputType = "clustering"
)

// EmbedResult holds one vector per input, in input order.
type EmbedResult struct {
	Model   string // the catalog name the request resolved to
	Vectors [][]float32
	// PromptTokens counts the tokens actually encoded, special tokens included.
	PromptTokens int
	Stats        BatchStats // for the request log
}

// TokenEmbedResult holds, per input in input order, one vector per token
// the model read (special tokens included): EmbedAll's answer.
type TokenEmbedResult struct {
	Model        string // the catalog name the request resolved to
	Vectors      [][][]float32
	PromptTokens int        // tokens encoded, special tokens included
	Stats        BatchStats // for the request log
}

// RerankRequest asks for the relevance of each document to a query, scored
// by a cross-encoder on (query, document) pairs.
type RerankRequest struct {
	// Model is a catalog name or Hugging Face id of a rerank model; empty
	// selects the default reranker.
	Model     string
	Query     string
	Documents []string
	// TopN keeps the N best documents; 0 keeps all.
	TopN int
	// RawScores returns the head's logit instead of its sigmoid (one
	// output) or softmax probability (several outputs).
	RawScores bool
	// Truncate cuts a document that does not fit beside the query to what
	// fits, instead of scoring it in overlapping chunks.
	Truncate bool
	// MaxChunksPerDoc caps the chunks scored per long document; 0 means
	// DefaultMaxChunksPerDoc. Text past the last chunk is ignored.
	MaxChunksPerDoc int
	// MaxTokensPerDoc cuts each document to this many tokens before
	// chunking (Cohere's max_tokens_per_doc); 0 means no limit.
	MaxTokensPerDoc int
	// Instruction, for a reranker whose prompt has one (Qwen3-Reranker),
	// replaces its default task instruction; "" keeps the default.
	Instruction string
	// Weights, for a Model that is an embedding model, weigh its dense,
	// sparse and ColBERT scores (rerankHybrid); nil means
	// DefaultHybridWeights. A cross-encoder refuses them.
	Weights *HybridWeights
}

// DefaultMaxChunksPerDoc is Cohere's max_chunks_per_doc default: a long
// document costs at most ten (query, chunk) sequences.
const DefaultMaxChunksPerDoc = 10

// RankedDocument is one document's score; Index is its position in
// RerankRequest.Documents.
type RankedDocument struct {
	Index int
	Score float64
}

// RerankResult holds the documents from most to least relevant, equal
// scores in request order.
type RerankResult struct {
	Model   string // the catalog name the request resolved to
	Results []RankedDocument
	// Tokens counts the tokens encoded, special tokens and every chunk
	// included; Pairs counts the (query, chunk) sequences encoded.
	Tokens int
	Pairs  int
	Stats  BatchStats // for the request log
}

// TokenizeRequest asks for the tokens a model reads for each input.
type TokenizeRequest struct {
	// Model is a catalog name or Hugging Face id of any kind; empty selects
	// the default embedding model, else the default reranker.
	Model  string
	Inputs []string
	// AddSpecial adds the special tokens the model reads around a text
	// ([CLS] ... [SEP]).
	AddSpecial bool
	// InputType prepends the model's query or document prefix; offsets
	// then count from the start of the prefix.
	InputType InputType
}

// TokenizeResult holds one token list per input, in input order.
type TokenizeResult struct {
	Model  string
	Tokens [][]Token
}

// Token is one token of a tokenized text.
type Token struct {
	ID int32
	// Text is the text the token covers when its offsets are known, and
	// its vocabulary entry otherwise ([CLS], or a piece whose text could
	// not be located).
	Text    string
	Special bool
	// Start and Stop are the token's byte offsets in the text; -1 when
	// unknown, as for the specials added around a text.
	Start, Stop int
}

// DecodeRequest asks for the text of token id sequences: Tokenize's
// inverse, with the model's own tokenizer.
type DecodeRequest struct {
	// Model as in TokenizeRequest.
	Model  string
	Inputs [][]int32
	// SkipSpecial leaves special tokens ([CLS], [SEP], [UNK]) out.
	SkipSpecial bool
}

// DecodeResult holds one text per input, in input order.
type DecodeResult struct {
	Model string
	Texts []string
}

// ModelStatus is a catalog entry with its local state (GET /models sends
// it as api.ModelStatus).
type ModelStatus struct {
	catalog.Entry
	Downloaded bool
	Loaded     bool
	// Size and Modified are the GGUF file's, when it is downloaded
	// (Ollama's GET /api/tags lists them).
	Size     int64
	Modified time.Time
}
