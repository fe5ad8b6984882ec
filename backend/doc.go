// Package backend owns models at run time: which are loaded (Pool, an LRU
// under a memory budget with reference counts and keep-alive), how the
// sequences of concurrent requests are merged into encode calls (Batcher,
// by a token budget), and the Engine that ties catalog entries, tokenization
// and the llama.cpp binding (backend/llama) together. Reranking builds each
// cross-encoder's (query, document) pairs itself (pairs.go: templates, token
// types through convert/segments' offset, chunking, sigmoid or softmax) and
// sends them through the same batcher as embeddings. Text is tokenized by
// llama.cpp, except for models converted from BertJapaneseTokenizer
// checkpoints, which tokenizer/bertjapanese tokenizes (tokenizer.go).
//
// It knows nothing about HTTP: requests and results are plain Go types
// (api.go) and failures are sentinel errors the server maps to statuses.
package backend
