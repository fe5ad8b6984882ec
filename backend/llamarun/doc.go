// Package llamarun runs backend's models in llama.cpp: Runtime implements
// backend.Runtime with backend/llama's Model and Context, and cmd/ hands it
// to the engine through backend.Config.Runtime. ModernBERT files go to
// backend/llama's own ggml encoder instead, behind the same interfaces.
//
// It exists so that backend depends on the runtime through the small
// interfaces it defines (runtime.go) instead of importing the cgo package:
// backend and server then build and test without compiling llama.cpp, and
// backend/llama stays a binding that knows nothing of catalogs or engines.
// It translates between the two and must hold no logic of its own.
//
// Its tests run the whole engine on llama.cpp (embeddings and rerank scores
// against the exact reference, tokenization, memory booking against the
// measured RSS) and hold `make bench`, so backend's own tests stay pure Go.
package llamarun
