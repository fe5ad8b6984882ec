// Package gguf writes GGUF version 3 files, the model format llama.cpp loads,
// and reads back their metadata.
//
// A Writer collects metadata key/value pairs and tensors, then writes the
// whole file in one pass: header, metadata, tensor descriptions, then the
// tensor data, each piece aligned to 32 bytes (the alignment is recorded as
// general.alignment). The output depends only on what was added and in which
// order, so the same inputs always give the same bytes.
//
// # Tensor shapes
//
// Shapes are given in GGML "ne" order: ne[0] is the innermost, fastest-moving
// dimension (the number of elements in one row), ne[1] the number of rows,
// and so on. This is the reverse of the row-major shapes PyTorch and
// safetensors report. A Hugging Face linear layer weight of shape
// [out, in] is therefore written with ne = {in, out} and its bytes unchanged;
// an embedding table [vocab, hidden] becomes ne = {hidden, vocab}.
//
// ReadMetadata is deliberately minimal: it returns the key/value pairs and
// tensor descriptions so tests and tools can check a file, and leaves tensor
// data to callers that know where it starts (Metadata.DataOffset).
//
// The package knows the file format only. Which keys and tensor names a
// llama.cpp architecture expects is the caller's business (see convert/ and
// internal/testmodel).
package gguf
