#include "modernbert_model.h"

#include "ggml-alloc.h"
#include "gguf.h"

#include <stdlib.h>
#include <string.h>

// want finds a tensor and checks its shape; ne1 0 means a vector. Norms
// and biases must be f32, which ggml's add and mul need against f32
// activations; matrices may be any type ggml_mul_mat takes.
static struct ggml_tensor *want(struct rr_mb_model *m, bool required, char *err, const char *name, int64_t ne0, int64_t ne1) {
    if (err[0] != 0) {
        return NULL;
    }
    struct ggml_tensor *t = ggml_get_tensor(m->ctx, name);
    if (t == NULL) {
        if (required) {
            rr_mb_set_err(err, "tensor %s is missing", name);
        }
        return NULL;
    }
    bool vector = ne1 == 0;
    if (t->ne[0] != ne0 || t->ne[1] != (vector ? 1 : ne1) || t->ne[2] != 1 || t->ne[3] != 1) {
        rr_mb_set_err(err, "tensor %s has shape [%lld, %lld, %lld, %lld], want [%lld, %lld]", name, (long long)t->ne[0],
                (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3], (long long)ne0, (long long)(vector ? 1 : ne1));
        return NULL;
    }
    if ((vector || strcmp(name, "token_embd.weight") == 0) && t->type != GGML_TYPE_F32 &&
        !(strcmp(name, "token_embd.weight") == 0 && t->type == GGML_TYPE_F16)) {
        rr_mb_set_err(err, "tensor %s has type %s, want f32", name, ggml_type_name(t->type));
        return NULL;
    }
    if (!vector && !ggml_is_quantized(t->type) && t->type != GGML_TYPE_F32 && t->type != GGML_TYPE_F16 && t->type != GGML_TYPE_BF16) {
        rr_mb_set_err(err, "tensor %s has type %s", name, ggml_type_name(t->type));
        return NULL;
    }
    return t;
}

static bool bind(struct rr_mb_model *m, int32_t *n_cls_out, char *err) {
    const struct rr_mb_hparams *hp = &m->hp;
    int64_t H = hp->n_embd, F = hp->n_ff;
    char name[128];
#define T(req, n0, n1, ...) (snprintf(name, sizeof name, __VA_ARGS__), want(m, req, err, name, n0, n1))
    m->tok_embd = T(true, H, hp->n_vocab, "token_embd.weight");
    m->embd_norm = T(true, H, 0, "token_embd_norm.weight");
    m->embd_norm_b = T(false, H, 0, "token_embd_norm.bias");
    m->out_norm = T(true, H, 0, "output_norm.weight");
    m->out_norm_b = T(false, H, 0, "output_norm.bias");
    for (int i = 0; i < hp->n_layer; i++) {
        struct rr_mb_layer *l = &m->layers[i];
        l->attn_norm = T(i > 0, H, 0, "blk.%d.attn_norm.weight", i);
        l->attn_norm_b = T(false, H, 0, "blk.%d.attn_norm.bias", i);
        l->qkv = T(true, H, 3 * H, "blk.%d.attn_qkv.weight", i);
        l->qkv_b = T(false, 3 * H, 0, "blk.%d.attn_qkv.bias", i);
        l->wo = T(true, H, H, "blk.%d.attn_output.weight", i);
        l->wo_b = T(false, H, 0, "blk.%d.attn_output.bias", i);
        l->ffn_norm = T(true, H, 0, "blk.%d.ffn_norm.weight", i);
        l->ffn_norm_b = T(false, H, 0, "blk.%d.ffn_norm.bias", i);
        l->up = T(true, H, 2 * F, "blk.%d.ffn_up.weight", i);
        l->up_b = T(false, 2 * F, 0, "blk.%d.ffn_up.bias", i);
        l->down = T(true, F, H, "blk.%d.ffn_down.weight", i);
        l->down_b = T(false, H, 0, "blk.%d.ffn_down.bias", i);
    }
    struct ggml_tensor *out = ggml_get_tensor(m->ctx, "cls.output.weight");
    *n_cls_out = 0;
    if (out != NULL && err[0] == 0) {
        int64_t n = out->ne[1];
        m->cls = T(true, H, H, "cls.weight");
        m->cls_b = T(false, H, 0, "cls.bias");
        m->cls_norm = T(true, H, 0, "cls.norm.weight");
        m->cls_norm_b = T(false, H, 0, "cls.norm.bias");
        m->cls_out = T(true, H, n, "cls.output.weight");
        m->cls_out_b = T(false, n, 0, "cls.output.bias");
        *n_cls_out = (int32_t)n;
    }
#undef T
    return err[0] == 0;
}

// load_data copies each tensor's bytes from the file into the weights buffer.
static bool load_data(struct rr_mb_model *m, const char *path, struct gguf_context *g, char *err) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        rr_mb_set_err(err, "cannot open %s", path);
        return false;
    }
    bool host = ggml_backend_buffer_is_host(m->buf);
    void *staging = NULL;
    size_t staging_size = 0;
    bool ok = true;
    for (int64_t i = 0; ok && i < gguf_get_n_tensors(g); i++) {
        struct ggml_tensor *t = ggml_get_tensor(m->ctx, gguf_get_tensor_name(g, i));
        size_t n = ggml_nbytes(t);
        void *dst = t->data;
        if (!host) {
            if (n > staging_size) {
                free(staging);
                staging = malloc(n);
                staging_size = staging == NULL ? 0 : n;
            }
            dst = staging;
        }
        if (dst == NULL || fseek(f, (long)(gguf_get_data_offset(g) + gguf_get_tensor_offset(g, i)), SEEK_SET) != 0 ||
            fread(dst, 1, n, f) != n) {
            rr_mb_set_err(err, "cannot read tensor %s from %s (truncated file?)", t->name, path);
            ok = false;
        } else if (!host) {
            ggml_backend_tensor_set(t, staging, 0, n);
        }
    }
    free(staging);
    fclose(f);
    return ok;
}

struct rr_mb_model *rr_mb_load(const char *path, const struct rr_mb_hparams *hp, bool gpu, int32_t *n_cls_out, char *err) {
    err[0] = 0;
    struct rr_mb_model *m = calloc(1, sizeof *m);
    m->hp = *hp;
    m->layers = calloc((size_t)hp->n_layer, sizeof *m->layers);
    struct gguf_init_params params = {.no_alloc = true, .ctx = &m->ctx};
    struct gguf_context *g = gguf_init_from_file(path, params);
    if (g == NULL) {
        rr_mb_set_err(err, "cannot read %s as GGUF", path);
        rr_mb_free(m);
        return NULL;
    }
    if (!bind(m, n_cls_out, err)) {
        gguf_free(g);
        rr_mb_free(m);
        return NULL;
    }
    m->dev = gpu ? ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_GPU) : NULL;
    if (m->dev == NULL) {
        m->dev = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    }
    m->buf = m->dev == NULL ? NULL : ggml_backend_alloc_ctx_tensors_from_buft(m->ctx, ggml_backend_dev_buffer_type(m->dev));
    if (m->buf == NULL) {
        rr_mb_set_err(err, "cannot allocate the weights of %s (out of memory?)", path);
        gguf_free(g);
        rr_mb_free(m);
        return NULL;
    }
    ggml_backend_buffer_set_usage(m->buf, GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
    bool ok = load_data(m, path, g, err);
    gguf_free(g);
    if (!ok) {
        rr_mb_free(m);
        return NULL;
    }
    return m;
}

uint64_t rr_mb_size(const struct rr_mb_model *m) { return m->buf == NULL ? 0 : ggml_backend_buffer_get_size(m->buf); }

void rr_mb_free(struct rr_mb_model *m) {
    if (m == NULL) {
        return;
    }
    if (m->buf != NULL) {
        ggml_backend_buffer_free(m->buf);
    }
    if (m->ctx != NULL) {
        ggml_free(m->ctx);
    }
    free(m->layers);
    free(m);
}

