// Package convert turns a Hugging Face checkpoint directory (config.json,
// safetensors or PyTorch weights, tokenizer files, sentence-transformers
// files) into a GGUF file that llama.cpp loads, exactly: it keeps what the
// upstream Python converter drops (the BERT pooler of cross-encoders), makes
// BERT token types exact (convert/segments), and records what the serving
// side needs to reproduce sentence-transformers (pooling, normalization,
// maximum length, prompts, tokenizer class) as GGUF metadata.
//
// Quantized output types are produced by llama.cpp's own quantizer, which
// the caller injects (Options.Quantize) so this package stays free of cgo.
// It must not download anything (hub/) nor know about the serving engine.
package convert
