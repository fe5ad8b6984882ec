package backend

import (
	"errors"

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
	// ErrOverloaded: the model's queue is full (503).
	ErrOverloaded = errors.New("server is overloaded")
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
	// Normalize L2-normalizes each vector. Nil means the catalog's default
	// for the model.
	Normalize *bool
	// Dimensions keeps the first N components (Matryoshka truncation) and
	// then re-normalizes when normalizing; 0 keeps all.
	Dimensions int
}

// EmbedResult holds one vector per input, in input order.
type EmbedResult struct {
	Model   string // the catalog name the request resolved to
	Vectors [][]float32
	// PromptTokens counts the tokens actually encoded, special tokens included.
	PromptTokens int
	Stats        BatchStats // for the request log
}

// ModelStatus is a catalog entry with its local state.
type ModelStatus struct {
	catalog.Entry
	Downloaded bool `json:"downloaded"`
	Loaded     bool `json:"loaded"`
}
