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
