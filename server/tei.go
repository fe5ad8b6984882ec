package server

import "encoding/json"

// Hugging Face text-embeddings-inference's wire format (router/src/http/types.rs
// and router/src/lib.rs in huggingface/text-embeddings-inference), all of it
// in one place. POST /embed answers with a bare [][]float32.

// teiEmbedRequest is the body of POST /embed.
type teiEmbedRequest struct {
	// Inputs is string | string[] | int[] | int[][], as in OpenAI's input.
	Inputs json.RawMessage `json:"inputs"`
	// Normalize L2-normalizes each vector; absent means true, as in TEI.
	Normalize *bool `json:"normalize"`
	// Truncate absent means the server's --auto-truncate, as in TEI.
	Truncate *bool `json:"truncate"`
	// TruncationDirection is TEI's "Left" or "Right"; we only cut on the
	// right, so "Left" is refused rather than silently ignored.
	TruncationDirection string `json:"truncation_direction"`
	// PromptName selects a sentence-transformers prompt in TEI. We have no
	// prompts by name, and ignoring it would give the wrong vectors, so it
	// is refused.
	PromptName *string `json:"prompt_name"`
	Dimensions *int    `json:"dimensions"`
	// Model is our extension: TEI serves one model, we serve several.
	Model string `json:"model"`
}

// teiError is TEI's error body. ErrorType is one of TEI's names:
// Validation, Empty, Overloaded, Unhealthy, Backend (see apiError.teiType).
type teiError struct {
	Error     string `json:"error"`
	ErrorType string `json:"error_type"`
}
