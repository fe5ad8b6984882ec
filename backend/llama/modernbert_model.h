// What modernbert_load.c and modernbert.c share; not part of the cgo API.
#pragma once
#include "modernbert.h"

#include "ggml.h"
#include "ggml-backend.h"

#include <stdarg.h>
#include <stdio.h>

struct rr_mb_layer {
    struct ggml_tensor *attn_norm, *attn_norm_b; // NULL in layer 0
    struct ggml_tensor *qkv, *qkv_b, *wo, *wo_b;
    struct ggml_tensor *ffn_norm, *ffn_norm_b;
    struct ggml_tensor *up, *up_b, *down, *down_b;
};

struct rr_mb_model {
    struct rr_mb_hparams hp;
    struct ggml_context *ctx; // the weights' tensors
    ggml_backend_dev_t dev;
    ggml_backend_buffer_t buf;
    struct ggml_tensor *tok_embd, *embd_norm, *embd_norm_b, *out_norm, *out_norm_b;
    struct rr_mb_layer *layers;
    struct ggml_tensor *cls, *cls_b, *cls_norm, *cls_norm_b, *cls_out, *cls_out_b;
};

static inline void rr_mb_set_err(char *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, RR_MB_ERR_SIZE, fmt, ap);
    va_end(ap);
}

