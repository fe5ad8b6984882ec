// Package backend owns models at run time: which are loaded (Pool, an LRU
// under a memory budget per device, RAM and each GPU models are offloaded
// to, with reference counts and keep-alive), how the sequences of
// concurrent requests are merged into encode calls (Batcher, by a token
// budget), and the Engine that ties catalog entries, tokenization
// and the model runtime together. Reranking builds each cross-encoder's
// (query, document) pairs itself (pairs.go: templates, token types through
// convert/segments' offset, chunking, sigmoid or softmax) and sends them
// through the same batcher as embeddings. Text is tokenized by the runtime
// (llama.cpp), except for models converted from BertJapaneseTokenizer
// checkpoints, which tokenizer/bertjapanese tokenizes (tokenizer.go).
//
// The runtime is reached through the small interfaces of runtime.go
// (Runtime, Model, InferenceContext), which backend/llamarun implements
// with the cgo binding backend/llama and cmd/ passes in Config.Runtime, as
// it passes the Puller. backend itself imports no cgo package, so server,
// which imports it for the Engine's request and result types and its
// sentinel errors, builds and tests without compiling llama.cpp. This was
// chosen over moving those types into a cgo-free package of their own: the
// types stay beside the engine that fills them, and backend depends on its
// runtime as it does on its puller, so a load's steps (contexts, pair
// format, batcher) can be driven by a fake model too.
//
// It knows nothing about HTTP: requests and results are plain Go types
// (api.go), failures are sentinel errors the server maps to statuses, and
// error texts name no routes or flags (their advice is the product's, as
// "run: rerank-api pull NAME").
package backend
