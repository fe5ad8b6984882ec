// Package catalog is the list of models rerank-api knows: for each short name
// (bge-m3, ruri-base, …) its Hugging Face repo, kind (embedding or rerank),
// pooling, prefixes, limits, licence, whether llama.cpp can run it at all, and
// where its GGUF file lives.
//
// The built-in list is the repository's models.yaml, embedded into the binary
// (see rerankapi.BuiltinCatalog); a user file given with --models-config adds
// models or overrides built-in ones by name. A Catalog is immutable once built
// and safe for concurrent use, so the server can share one for its lifetime.
//
// The package only describes models. It must not download files (that is
// hub/), convert checkpoints (convert/), open GGUF files or import llama.cpp
// (backend/): it is a leaf that the server, the backend and the pull command
// all read, and it stays cheap to import and to test.
package catalog
