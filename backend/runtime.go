package backend

// Runtime loads GGUF models for inference. backend/llamarun's runs them in
// llama.cpp; cmd/ passes it in Config.Runtime, so that backend, and server
// above it, compile without cgo and test against fakes.
type Runtime interface {
	LoadModel(path string, p ModelParams) (Model, error)
}

// ModelParams control how a GGUF is loaded.
type ModelParams struct {
	// GPULayers is how many layers to offload to GPUs; negative means all.
	GPULayers int
}

// Model is a loaded GGUF: its metadata, its tokenizer and the inference
// contexts that share its weights. Close is called only after every
// context made from it is closed.
type Model interface {
	// Meta returns a GGUF metadata value as a string, "" when absent.
	Meta(key string) string
	Info() ModelInfo
	// Tokenize runs the runtime's own tokenizer. addSpecial adds the
	// model's special tokens as its GGUF says ([CLS] ... [SEP]);
	// parseSpecial lets text such as "[SEP]" become the special token.
	Tokenize(text string, addSpecial, parseSpecial bool) ([]int32, error)
	// TokenText is the vocabulary entry of id, "" when out of range.
	TokenText(id int32) string
	// IsControl reports whether id is a control token such as [CLS].
	IsControl(id int32) bool
	// Detokenize is the inverse of Tokenize: the text of ids, with the
	// special tokens written out when special and left out when not.
	Detokenize(ids []int32, special bool) (string, error)
	NewContext(p ContextParams) (InferenceContext, error)
	Close()
}

// ModelInfo is what backend reads about a loaded model beyond its metadata.
type ModelInfo struct {
	Arch         string
	ClassOutputs int    // scores per sequence under rank pooling; 0 without a head
	VocabSize    int    // valid token ids are [0, VocabSize)
	ParamBytes   uint64 // size of all weights
	// BOS, EOS and SEP are the vocabulary's special ids, -1 when it has none.
	BOS, EOS, SEP int32
}

// ContextParams fix an inference context's shape at creation.
type ContextParams struct {
	// BatchTokens is the most tokens one Encode call may carry.
	BatchTokens int
	// Threads used for computation; 0 lets the runtime choose.
	Threads int
	// Pooling is a catalog spelling (catalog.PoolingCLS, ...); "" keeps
	// the GGUF's own.
	Pooling        string
	FlashAttention bool
	// KVCacheF32 keeps a decoder's attention keys and values in f32
	// instead of f16 (the catalog's kv_cache_type).
	KVCacheF32 bool
	// Adapter is the path of a LoRA adapter GGUF every encode of the
	// context applies (a jina-embeddings-v3 task, tasks.go); "" for none.
	Adapter string
}

// InferenceContext encodes batches of sequences into pooled vectors (or
// rank scores), one per sequence.
type InferenceContext interface {
	Encoder
	// Width is the number of floats Encode returns per sequence.
	Width() int
	// Pooling is the pooling the context computes, as the catalog spells it.
	Pooling() string
	// MaxSequences is the most sequences one Encode call may carry.
	MaxSequences() int
	Close()
}
