package keys

// ModernBERT's GGUF files (convert/modernbert.go writes them, backend/llama's
// ggml encoder reads them) use architecture ModernBERTArch, which llama.cpp
// does not know, with llama.cpp's usual hyperparameter keys under it
// (context_length, embedding_length, feed_forward_length, block_count,
// attention.head_count, attention.layer_norm_epsilon, rope.freq_base,
// pooling_type, classifier.output_labels) and these for what ModernBERT
// adds.
const (
	ModernBERTArch = "modernbert"
	// ModernBERTGlobalEvery (uint32): global_attn_every_n_layers; layer i
	// attends globally when i % n == 0.
	ModernBERTGlobalEvery = ModernBERTArch + ".attention.global_every"
	// ModernBERTWindow (uint32): local_attention, the sliding window's full
	// width; a sliding layer sees |i−j| ≤ window/2.
	ModernBERTWindow = ModernBERTArch + ".attention.sliding_window"
	// ModernBERTLocalTheta (float32): local_rope_theta, the sliding layers'
	// RoPE base (rope.freq_base is the global layers').
	ModernBERTLocalTheta = ModernBERTArch + ".rope.freq_base_swa"
	// ModernBERTActivation and ModernBERTHeadActivation (string): "gelu"
	// (erf) or "gelu_tanh", of the feed-forward and of the classifier head.
	ModernBERTActivation     = ModernBERTArch + ".hidden_act"
	ModernBERTHeadActivation = ModernBERTArch + ".classifier.activation"
	// ModernBERTHeadPooling (string): classifier_pooling, "cls" or "mean".
	ModernBERTHeadPooling = ModernBERTArch + ".classifier.pooling"
)
