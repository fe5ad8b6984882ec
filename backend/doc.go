// Package backend owns models at run time: which are loaded (Pool, an LRU
// under a memory budget with reference counts and keep-alive), how the
// sequences of concurrent requests are merged into encode calls (Batcher,
// by a token budget), and the Engine that ties catalog entries, tokenization
// and the llama.cpp binding (backend/llama) together.
//
// It knows nothing about HTTP: requests and results are plain Go types
// (api.go) and failures are sentinel errors the server maps to statuses.
package backend
