// A ModernBERT encoder on ggml's public API, for the GGUF layout that
// convert/modernbert.go writes (llama.cpp has no ModernBERT). Every check a
// bad input needs happens here or in modernbert.go, before ggml sees it:
// ggml's own checks abort the process.
#pragma once
#include <stdbool.h>
#include <stdint.h>

#define RR_MB_ERR_SIZE 512

// rr_mb_hparams is the model's shape, read from the GGUF's metadata in Go.
struct rr_mb_hparams {
    int32_t n_embd, n_head, n_layer, n_ff, n_vocab;
    int32_t global_every; // layer i is global when i % global_every == 0
    int32_t window_half;  // a sliding layer sees |i-j| <= window_half
    float eps, theta_global, theta_local;
    bool gelu_tanh;       // the feed-forward's GELU: tanh form, else erf
    bool head_gelu_tanh;  // the classification head's
    bool head_mean;       // the head pools by mean, else the first token
};

struct rr_mb_model;
struct rr_mb_ctx;

// rr_mb_load reads the GGUF at path into a weights buffer on the first GPU
// when gpu and one exists, else on the CPU, after checking that every
// tensor the graph uses is present with the shape hp implies. n_cls_out is
// set to the classifier's outputs, 0 without a head. NULL with err set on
// failure.
struct rr_mb_model *rr_mb_load(const char *path, const struct rr_mb_hparams *hp, bool gpu, int32_t *n_cls_out, char *err);
uint64_t rr_mb_size(const struct rr_mb_model *m);
void rr_mb_free(struct rr_mb_model *m);

// rr_mb_ctx_new makes a context on the model's device; flash computes
// attention with ggml_flash_attn_ext (K and V rounded to f16, memory linear
// in the batch) instead of whole score matrices.
struct rr_mb_ctx *rr_mb_ctx_new(struct rr_mb_model *m, int32_t n_threads, bool flash, char *err);
void rr_mb_ctx_free(struct rr_mb_ctx *c);
// rr_mb_ctx_compute_size is the bytes of the compute buffers the scheduler
// holds on all of the context's devices: as large as the largest batch yet.
uint64_t rr_mb_ctx_compute_size(const struct rr_mb_ctx *c);

// Pooling modes of rr_mb_encode, llama.cpp's numbers.
#define RR_MB_POOL_MEAN 1
#define RR_MB_POOL_CLS 2
#define RR_MB_POOL_RANK 4

// rr_mb_encode runs n_seq sequences, flattened in tokens; sequence s is
// tokens[start[s]..start[s+1]). out receives n_seq rows of n_embd floats
// (mean, cls) or n_cls_out (rank). The caller has checked the ids, the
// lengths and that a head exists for rank. Returns 0, or -1 with err set.
int rr_mb_encode(struct rr_mb_ctx *c, const int32_t *tokens, const int32_t *start, int32_t n_seq, int32_t pooling, float *out, char *err);
