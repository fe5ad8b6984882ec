// Small C helpers that are awkward to express through cgo directly.
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "llama.h"

// rr_log_install routes llama.cpp and ggml log output to the Go callback
// goLogSink.
void rr_log_install(void);
void rr_malloc_return_freed(void);

// rr_model_load, rr_init_from_model and rr_model_quantize call llama.cpp's
// function of the same name and copy the error lines it logs meanwhile into
// err, RR_ERR_SIZE bytes, NUL-terminated and truncated when full.
#define RR_ERR_SIZE 2048
struct llama_model *rr_model_load(const char *path, struct llama_model_params params, char *err);
struct llama_context *rr_init_from_model(struct llama_model *model, struct llama_context_params params, char *err);
// rr_adapter_lora_init: llama_adapter_lora_init, capturing as above.
struct llama_adapter_lora *rr_adapter_lora_init(struct llama_model *model, const char *path, char *err);
uint32_t rr_model_quantize(const char *in, const char *out, const llama_model_quantize_params *params, char *err);

// rr_batch_set writes token i of a batch: its id, position and sequence.
// Every token is marked as an output, which pooled embeddings require.
void rr_batch_set(struct llama_batch *b, int32_t i, llama_token id, llama_pos pos, llama_seq_id seq);

// rr_gguf_has_tensor reports whether the GGUF file at path holds a tensor
// named name, reading only the header. llama.cpp reports one classifier
// output for every model, head or not, so this is how a missing head is seen.
bool rr_gguf_has_tensor(const char *path, const char *name);
