// Package testmodel makes seeded random BERT models for tests and
// benchmarks, since no trained weights are available where tests run.
//
// Generate draws the weights as a reference.Weights, which the reference
// package can run exactly; WriteGGUF writes the same weights as a llama.cpp
// "bert" GGUF, so tests compare llama.cpp's outputs with the reference's.
// GenerateModernBERT and WriteModernBERTHF do the same for ModernBERT in
// transformers' layout, which convert/ turns into rerank-api's own GGUF.
// ExpectedIDs tokenizes texts of whole vocabulary words without llama.cpp,
// as an independent oracle for its tokenizer.
//
// The GGUF layout here (tensor names, metadata keys, phantom-space
// vocabulary) follows llama.cpp's loader, verified against
// src/llama-arch.cpp, src/llama-model.cpp and src/llama-vocab.cpp of the
// vendored copy. It is test support only: real models go through convert/.
package testmodel
