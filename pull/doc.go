// Package pull puts catalog models on disk: it downloads a published GGUF,
// or downloads a Hugging Face checkpoint and converts it, into the models
// directory, where the engine loads it from. Concurrent pulls of one model
// share one download.
//
// It joins three leaves (catalog, hub, convert) and knows nothing of HTTP
// serving or llama.cpp; llama.cpp's quantizer is injected by the caller.
package pull
