package api

import "github.com/rerank-api/rerank-api/catalog"

// rerank-api's own routes: the catalog, liveness and readiness.

// CatalogModelList is the body of GET /models (and of `rerank-api models
// --json`): every catalog entry with its kind, limits, licence, support
// status and local state.
type CatalogModelList struct {
	Object string        `json:"object"` // always "list", as in /v1/models
	Data   []ModelStatus `json:"data"`
}

// ModelStatus is one catalog entry with its local state.
type ModelStatus struct {
	catalog.Entry
	Downloaded bool `json:"downloaded"` // its GGUF is in the models dir
	Loaded     bool `json:"loaded"`     // it is in memory now
}

// Health is the body of GET /health and GET /ready.
type Health struct {
	Status string `json:"status"` // ok, ready or unavailable
	Error  string `json:"error,omitempty"`
}

// Info is the body of GET /info (TEI's route): what this server is, what
// it runs on, and its limits. Field names follow TEI's where it has one.
type Info struct {
	Version string `json:"version"`
	// ComputeMode is the image's flavour (cpu, cuda, rocm) when the server
	// runs from one of the project's images, else empty.
	ComputeMode string `json:"compute_mode,omitempty"`
	GoVersion   string `json:"go_version"`
	// CPUVariant is the CPU backend that runs models: a variant ggml loaded
	// from the lib dir ("haswell", "skylakex", ...) or "built-in".
	CPUVariant  string   `json:"cpu_variant"`
	CPUFeatures []string `json:"cpu_features"`
	Devices     []Device `json:"devices"`
	// OffloadDevices are the devices models are offloaded to; empty when
	// models run on the CPU.
	OffloadDevices []string `json:"offload_devices"`
	// Warnings say which backend libraries did not load, and why.
	Warnings []string `json:"warnings,omitempty"`

	EmbeddingModel string   `json:"embedding_model"`
	RerankerModel  string   `json:"reranker_model"`
	LoadedModels   []string `json:"loaded_models"`

	MaxConcurrentRequests int    `json:"max_concurrent_requests"`
	MaxBatchTokens        int    `json:"max_batch_tokens"`
	MaxClientBatchSize    int    `json:"max_client_batch_size"`
	MaxRerankDocuments    int    `json:"max_rerank_documents"`
	PayloadLimit          int64  `json:"payload_limit"`
	AutoTruncate          bool   `json:"auto_truncate"`
	Workers               int    `json:"workers"`
	Threads               int    `json:"threads"`
	MemoryBudgetBytes     uint64 `json:"memory_budget_bytes"`
}

// Device is one compute device ggml found.
type Device struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Kind        string `json:"kind"` // cpu, gpu, igpu or accel
	FreeBytes   uint64 `json:"free_bytes"`
	TotalBytes  uint64 `json:"total_bytes"`
}
