package api

import (
	"encoding/json"
	"time"
)

// Ollama's embedding API, all of it in one place (api/types.go and
// docs/api.md in ollama/ollama), so Ollama clients (Open WebUI,
// AnythingLLM, Continue, LlamaIndex's OllamaEmbedding) can embed with
// rerank-api. Model names are Ollama's: "bge-m3" or "bge-m3:latest".

// OllamaEmbedRequest is the body of POST /api/embed.
type OllamaEmbedRequest struct {
	Model string `json:"model"`
	// Input is a string or an array of strings; absent, "" or [] gets no
	// embeddings and a 200, as in Ollama (clients send it to load a model).
	Input json.RawMessage `json:"input"`
	// Truncate absent means true, as in Ollama: inputs are cut to the
	// model's maximum length; false makes a too-long input a 400.
	Truncate *bool `json:"truncate"`
	// Dimensions keeps the first N components and re-normalizes, as
	// /v1/embeddings' dimensions; 0 keeps all, as in Ollama.
	Dimensions int `json:"dimensions"`
	// KeepAlive ("5m", 300, -1) is accepted and ignored: the model pool
	// decides what stays loaded.
	KeepAlive json.RawMessage `json:"keep_alive"`
	// Options (num_ctx, num_thread, ...) are accepted and ignored: the
	// server's flags set them for every request.
	Options map[string]any `json:"options"`
}

// OllamaEmbedResponse is the answer to POST /api/embed. Durations are in
// nanoseconds, as Ollama's.
type OllamaEmbedResponse struct {
	Model      string      `json:"model"`
	Embeddings [][]float32 `json:"embeddings"`
	// TotalDuration is the request's time in the server.
	TotalDuration int64 `json:"total_duration"`
	// LoadDuration is always 0: the engine does not report the time a
	// request waited for its model to load.
	LoadDuration    int64 `json:"load_duration"`
	PromptEvalCount int   `json:"prompt_eval_count"`
}

// OllamaEmbeddingRequest is the body of the legacy POST /api/embeddings.
type OllamaEmbeddingRequest struct {
	Model string `json:"model"`
	// Prompt "" gets an empty embedding and a 200, as in Ollama.
	Prompt    string          `json:"prompt"`
	KeepAlive json.RawMessage `json:"keep_alive"`
	Options   map[string]any  `json:"options"`
}

// OllamaEmbeddingResponse is the answer to POST /api/embeddings.
type OllamaEmbeddingResponse struct {
	Embedding []float32 `json:"embedding"`
}

// OllamaModelList is the body of GET /api/tags: the downloaded models.
type OllamaModelList struct {
	Models []OllamaModel `json:"models"`
}

// OllamaModel is one model of GET /api/tags.
type OllamaModel struct {
	Name       string             `json:"name"`  // "bge-m3:latest"
	Model      string             `json:"model"` // the same
	ModifiedAt time.Time          `json:"modified_at"`
	Size       int64              `json:"size"`   // of the GGUF file, in bytes
	Digest     string             `json:"digest"` // the GGUF's SHA-256 when the catalog pins it, else ""
	Details    OllamaModelDetails `json:"details"`
}

// OllamaModelDetails is what the catalog knows of a model; "" where it
// knows nothing.
type OllamaModelDetails struct {
	ParentModel       string   `json:"parent_model"`
	Format            string   `json:"format"`             // always "gguf"
	Family            string   `json:"family"`             // the catalog's architecture, e.g. XLMRobertaModel
	Families          []string `json:"families"`           // [family], or null when unknown
	ParameterSize     string   `json:"parameter_size"`     // e.g. "568M"
	QuantizationLevel string   `json:"quantization_level"` // e.g. "F16", "Q8_0"
}

// OllamaShowRequest is the body of POST /api/show; Name is the older
// spelling of Model.
type OllamaShowRequest struct {
	Model string `json:"model"`
	Name  string `json:"name"`
}

// OllamaShowResponse is the answer to POST /api/show, with what the
// catalog knows: no Modelfile, template or parameters, since rerank-api
// has none.
type OllamaShowResponse struct {
	License    string             `json:"license"`
	Modelfile  string             `json:"modelfile"`
	Parameters string             `json:"parameters"`
	Template   string             `json:"template"`
	Details    OllamaModelDetails `json:"details"`
	// ModelInfo holds GGUF-style keys: general.architecture,
	// general.basename and, where the catalog states them,
	// <architecture>.context_length and <architecture>.embedding_length.
	ModelInfo    map[string]any `json:"model_info"`
	Capabilities []string       `json:"capabilities"` // ["embedding"]
	ModifiedAt   time.Time      `json:"modified_at"`
}

// OllamaVersion is the body of GET /api/version: rerank-api's version.
type OllamaVersion struct {
	Version string `json:"version"`
}

// OllamaError is Ollama's error envelope.
type OllamaError struct {
	Error string `json:"error"`
}
