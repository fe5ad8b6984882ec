// Package reference is an exact, float64 forward pass of a Hugging Face
// BERT / XLM-RoBERTa encoder, written in plain Go to check llama.cpp's
// outputs against.
//
// It follows transformers' BertModel (post-LayerNorm encoder) and the
// classification heads of BertForSequenceClassification and
// RobertaClassificationHead, which compute the same function once BERT's
// pooler is counted as the head's dense layer: out(tanh(dense(h_cls))).
// ModernBERT (modernbert.go) follows transformers' ModernBertModel and
// ModernBertForSequenceClassification the same way. jina-embeddings-v3
// (jina_v3.go) follows xlm-roberta-flash-implementation's XLMRobertaLoRA,
// each task's LoRA delta added in float64 to the layer it adapts.
//
// Weights are stored as float32 in Hugging Face's row-major layout (a linear
// layer is [out, in]); all arithmetic is float64, so differences against
// llama.cpp measure llama.cpp's rounding, not ours. The one deliberate
// exception is Activation GELUTanhF16, which reproduces ggml's f16 GELU
// table so that tests can isolate the rest of llama.cpp's arithmetic.
//
// Positions count from 0. Model-specific offsets (XLM-R starts at
// padding_idx+1) belong to whoever fills PositionEmbeddings.
//
// It must stay simple and obviously correct rather than fast: it is an
// oracle for tests, never used to serve requests. Invalid inputs (a token id
// outside the vocabulary, a sequence longer than MaxPositions) are bugs in
// the calling test and panic.
package reference
