// Package llama is the only package in rerank-api that talks to llama.cpp.
//
// It binds the C API of the llama.cpp copy vendored by the Go module
// github.com/ollama/ollama through a small shim, and exposes plain Go types:
// Model (a loaded GGUF), Context (an inference context with a fixed pooling
// type and batch size), Adapter (a LoRA adapter GGUF a Context applies,
// lora.go) and Device (a ggml compute device).
//
// ModernBERT (ruri-v3), which the vendored llama.cpp lacks, runs on a graph
// of its own built with ggml's public API over the same devices
// (modernbert.c): ModernBERT and ModernBERTContext mirror Model and Context,
// and llama.cpp still provides their tokenizer, unless the vocabulary falls
// back to byte pieces, which tokenizer/unigram spells and llama.cpp does
// not (modernbert_tokenize.go). SPLADEHead likewise runs a
// SPLADE model's masked-LM head (splade.c) on the token states llama.cpp's
// encoder returns.
//
// Its main duty beyond translation is safety: llama.cpp aborts the whole
// process (GGML_ASSERT) on inputs such as a position past the model's trained
// context or more tokens than the physical batch. Every such condition is
// checked here first and returned as a Go error, so no caller can crash the
// server with a bad request.
//
// It must not know about HTTP, catalogs, batching policy or tokenization rules
// beyond what llama.cpp itself provides.
package llama
