// Package ggufcheck validates a GGUF file's header and tensor table before
// llama.cpp loads it.
//
// llama.cpp runs inside the server's process, and some malformed files
// reach a GGML_ASSERT or an out-of-bounds read instead of an error return:
// a duplicated token text, a scores array shorter than the vocabulary, an
// expert count the architecture does not use, an unknown RoPE scaling type.
// One such file would take every loaded model down with it. Check reports
// each of these, and the plainer corruptions llama.cpp would also refuse
// (truncation, tensors outside the file, sizes that do not match their
// shapes), as an error that names the cause.
//
// It reads only what gguf.ReadMetadata returns: the key/value section and
// the tensor table, never the weights. It must not import cgo or anything
// above backend: the pool calls it while sizing a model, before any memory
// is booked.
package ggufcheck
