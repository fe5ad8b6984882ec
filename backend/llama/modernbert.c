#include "modernbert_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct rr_mb_ctx {
    struct rr_mb_model *m;
    ggml_backend_t backends[2];
    int n_backends;
    ggml_backend_sched_t sched;
    size_t graph_size;
    bool flash; // ggml_flash_attn_ext: memory linear in the batch, K and V in f16
};

struct rr_mb_ctx *rr_mb_ctx_new(struct rr_mb_model *m, int32_t n_threads, bool flash, char *err) {
    err[0] = 0;
    struct rr_mb_ctx *c = calloc(1, sizeof *c);
    c->m = m;
    c->flash = flash;
    c->backends[c->n_backends++] = ggml_backend_dev_init(m->dev, NULL);
    if (ggml_backend_dev_type(m->dev) != GGML_BACKEND_DEVICE_TYPE_CPU) {
        // The scheduler runs ops a GPU backend lacks on the CPU.
        c->backends[c->n_backends++] = ggml_backend_dev_init(ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU), NULL);
    }
    for (int i = 0; i < c->n_backends; i++) {
        if (c->backends[i] == NULL) {
            rr_mb_set_err(err, "cannot start the ggml backend of %s", ggml_backend_dev_name(m->dev));
            rr_mb_ctx_free(c);
            return NULL;
        }
        ggml_backend_dev_t dev = ggml_backend_get_device(c->backends[i]);
        ggml_backend_reg_t reg = dev == NULL ? NULL : ggml_backend_dev_backend_reg(dev);
        // As llama.cpp sets threads: through the registry, so a CPU variant
        // loaded from a library gets them too.
        ggml_backend_set_n_threads_t set_threads =
            reg == NULL ? NULL : (ggml_backend_set_n_threads_t)ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_n_threads");
        if (set_threads != NULL && n_threads > 0) {
            set_threads(c->backends[i], n_threads);
        }
    }
    c->graph_size = 64 + 48 * (size_t)m->hp.n_layer;
    c->sched = ggml_backend_sched_new(c->backends, NULL, c->n_backends, c->graph_size, false, false);
    if (c->sched == NULL) {
        rr_mb_set_err(err, "cannot create the ggml scheduler");
        rr_mb_ctx_free(c);
        return NULL;
    }
    return c;
}

uint64_t rr_mb_ctx_compute_size(const struct rr_mb_ctx *c) {
    uint64_t total = 0;
    for (int i = 0; i < c->n_backends; i++) {
        total += ggml_backend_sched_get_buffer_size(c->sched, c->backends[i]);
    }
    return total;
}

void rr_mb_ctx_free(struct rr_mb_ctx *c) {
    if (c == NULL) {
        return;
    }
    if (c->sched != NULL) {
        ggml_backend_sched_free(c->sched);
    }
    for (int i = 0; i < c->n_backends; i++) {
        if (c->backends[i] != NULL) {
            ggml_backend_free(c->backends[i]);
        }
    }
    free(c);
}

static struct ggml_tensor *layer_norm(struct ggml_context *x, struct ggml_tensor *cur, struct ggml_tensor *w, struct ggml_tensor *b, float eps) {
    cur = ggml_mul(x, ggml_norm(x, cur, eps), w);
    return b == NULL ? cur : ggml_add(x, cur, b);
}

static struct ggml_tensor *dense(struct ggml_context *x, struct ggml_tensor *cur, struct ggml_tensor *w, struct ggml_tensor *b) {
    cur = ggml_mul_mat(x, w, cur);
    return b == NULL ? cur : ggml_add(x, cur, b);
}

// The graph's inputs, set after the scheduler allocated them. The masks
// (0 or -inf) are f16, which both soft_max_ext and flash_attn_ext take:
// half the memory of f32, and at 8192 tokens two masks are 256 MiB.
struct rr_mb_inputs {
    struct ggml_tensor *tokens, *pos, *mask_global, *mask_local, *pool;
    bool flash;
};

static struct ggml_tensor *attention(struct ggml_context *x, const struct rr_mb_hparams *hp, const struct rr_mb_layer *l,
                                     struct ggml_tensor *cur, struct rr_mb_inputs *in, bool global, int64_t n) {
    int64_t H = hp->n_embd, nh = hp->n_head, hd = H / nh;
    struct ggml_tensor *qkv = dense(x, cur, l->qkv, l->qkv_b); // [3H, n]
    size_t es = ggml_element_size(qkv);
    struct ggml_tensor *q = ggml_cont(x, ggml_view_3d(x, qkv, hd, nh, n, hd * es, qkv->nb[1], 0));
    struct ggml_tensor *k = ggml_cont(x, ggml_view_3d(x, qkv, hd, nh, n, hd * es, qkv->nb[1], H * es));
    struct ggml_tensor *v = ggml_view_3d(x, qkv, hd, nh, n, hd * es, qkv->nb[1], 2 * H * es);
    float theta = global ? hp->theta_global : hp->theta_local;
    q = ggml_rope_ext(x, q, in->pos, NULL, (int)hd, GGML_ROPE_TYPE_NEOX, 0, theta, 1.0f, 0.0f, 1.0f, 0.0f, 0.0f);
    k = ggml_rope_ext(x, k, in->pos, NULL, (int)hd, GGML_ROPE_TYPE_NEOX, 0, theta, 1.0f, 0.0f, 1.0f, 0.0f, 0.0f);
    q = ggml_permute(x, q, 0, 2, 1, 3); // [hd, n, nh]
    k = ggml_permute(x, k, 0, 2, 1, 3); // [hd, n, nh]
    struct ggml_tensor *mask = global ? in->mask_global : in->mask_local;
    if (in->flash) {
        // As llama.cpp runs encoders without a KV cache: K and V cast to
        // f16, f32 accumulation.
        k = ggml_cast(x, k, GGML_TYPE_F16);
        v = ggml_cast(x, ggml_permute(x, v, 0, 2, 1, 3), GGML_TYPE_F16); // [hd, n, nh]
        cur = ggml_flash_attn_ext(x, q, k, v, mask, 1.0f / sqrtf((float)hd), 0.0f, 0.0f);
        ggml_flash_attn_ext_set_prec(cur, GGML_PREC_F32);
        return dense(x, ggml_reshape_2d(x, cur, H, n), l->wo, l->wo_b); // cur is [hd, nh, n]
    }
    struct ggml_tensor *vt = ggml_cont(x, ggml_permute(x, v, 1, 2, 0, 3)); // [n, hd, nh]
    struct ggml_tensor *kq = ggml_mul_mat(x, k, q);                 // [n_k, n_q, nh]
    kq = ggml_soft_max_ext(x, kq, mask, 1.0f / sqrtf((float)hd), 0.0f);
    struct ggml_tensor *kqv = ggml_mul_mat(x, vt, kq); // [hd, n_q, nh]
    cur = ggml_cont_2d(x, ggml_permute(x, kqv, 0, 2, 1, 3), H, n);
    return dense(x, cur, l->wo, l->wo_b);
}

static struct ggml_tensor *build(struct ggml_context *x, const struct rr_mb_model *m, struct rr_mb_inputs *in, int64_t n, int32_t n_seq, int32_t pooling) {
    const struct rr_mb_hparams *hp = &m->hp;
    // An input no op reads gets no buffer, and setting it would abort: a
    // model whose layers are all global has no sliding mask.
    bool has_local = hp->n_layer > 1 && hp->global_every > 1;
    in->tokens = ggml_new_tensor_1d(x, GGML_TYPE_I32, n);
    in->pos = ggml_new_tensor_1d(x, GGML_TYPE_I32, n);
    in->mask_global = ggml_new_tensor_2d(x, GGML_TYPE_F16, n, n);
    in->mask_local = has_local ? ggml_new_tensor_2d(x, GGML_TYPE_F16, n, n) : NULL;
    in->pool = ggml_new_tensor_2d(x, GGML_TYPE_F32, n, n_seq);
    struct ggml_tensor *ins[] = {in->tokens, in->pos, in->mask_global, in->pool, in->mask_local};
    for (size_t i = 0; i < sizeof ins / sizeof ins[0] && ins[i] != NULL; i++) {
        ggml_set_input(ins[i]);
    }

    struct ggml_tensor *cur = ggml_get_rows(x, m->tok_embd, in->tokens); // [H, n]
    cur = layer_norm(x, cur, m->embd_norm, m->embd_norm_b, hp->eps);
    for (int i = 0; i < hp->n_layer; i++) {
        const struct rr_mb_layer *l = &m->layers[i];
        struct ggml_tensor *h = l->attn_norm == NULL ? cur : layer_norm(x, cur, l->attn_norm, l->attn_norm_b, hp->eps);
        cur = ggml_add(x, cur, attention(x, hp, l, h, in, i % hp->global_every == 0, n));
        h = dense(x, layer_norm(x, cur, l->ffn_norm, l->ffn_norm_b, hp->eps), l->up, l->up_b); // [2F, n]
        h = hp->gelu_tanh ? ggml_geglu(x, h) : ggml_geglu_erf(x, h);                          // act(first half) * second half
        cur = ggml_add(x, cur, dense(x, h, l->down, l->down_b));
    }
    cur = layer_norm(x, cur, m->out_norm, m->out_norm_b, hp->eps);
    // The pooling matrix holds each sequence's weights: 1/len for mean,
    // one-hot on its first token for cls.
    cur = ggml_mul_mat(x, ggml_cont(x, ggml_transpose(x, cur)), in->pool); // [H, n_seq]
    if (pooling == RR_MB_POOL_RANK) {
        cur = dense(x, cur, m->cls, m->cls_b);
        cur = hp->head_gelu_tanh ? ggml_gelu(x, cur) : ggml_gelu_erf(x, cur);
        cur = layer_norm(x, cur, m->cls_norm, m->cls_norm_b, hp->eps);
        cur = dense(x, cur, m->cls_out, m->cls_out_b);
    }
    ggml_set_output(cur);
    return cur;
}

static void fill_inputs(const struct rr_mb_model *m, struct rr_mb_inputs *in, const int32_t *tokens, const int32_t *start, int32_t n_seq, int32_t pooling, ggml_fp16_t *mask_g, ggml_fp16_t *mask_l, float *pool, int32_t *pos) {
    int64_t n = start[n_seq];
    bool head_mean = pooling == RR_MB_POOL_RANK ? m->hp.head_mean : pooling == RR_MB_POOL_MEAN;
    const ggml_fp16_t hidden = ggml_fp32_to_fp16(-INFINITY), visible = ggml_fp32_to_fp16(0.0f);
    for (int64_t i = 0; i < n * n; i++) {
        mask_g[i] = hidden;
        mask_l[i] = hidden;
    }
    memset(pool, 0, sizeof(float) * (size_t)(n * n_seq));
    for (int32_t s = 0; s < n_seq; s++) {
        int32_t a = start[s], b = start[s + 1];
        for (int32_t i = a; i < b; i++) {
            pos[i] = i - a;
            // Row i (the query) sees the keys of its own sequence.
            for (int32_t j = a; j < b; j++) {
                mask_g[(int64_t)i * n + j] = visible;
                if (abs(i - j) <= m->hp.window_half) {
                    mask_l[(int64_t)i * n + j] = visible;
                }
            }
            if (head_mean) {
                pool[(int64_t)s * n + i] = 1.0f / (float)(b - a);
            }
        }
        if (!head_mean) {
            pool[(int64_t)s * n + a] = 1;
        }
    }
    ggml_backend_tensor_set(in->tokens, tokens, 0, sizeof(int32_t) * (size_t)n);
    ggml_backend_tensor_set(in->pos, pos, 0, sizeof(int32_t) * (size_t)n);
    ggml_backend_tensor_set(in->mask_global, mask_g, 0, sizeof(ggml_fp16_t) * (size_t)(n * n));
    if (in->mask_local != NULL) {
        ggml_backend_tensor_set(in->mask_local, mask_l, 0, sizeof(ggml_fp16_t) * (size_t)(n * n));
    }
    ggml_backend_tensor_set(in->pool, pool, 0, sizeof(float) * (size_t)(n * n_seq));
}

int rr_mb_encode(struct rr_mb_ctx *c, const int32_t *tokens, const int32_t *start, int32_t n_seq, int32_t pooling, float *out, char *err) {
    err[0] = 0;
    const struct rr_mb_model *m = c->m;
    int64_t n = start[n_seq];
    struct ggml_init_params params = {
        .mem_size = ggml_tensor_overhead() * c->graph_size + ggml_graph_overhead_custom(c->graph_size, false),
        .mem_buffer = NULL,
        .no_alloc = true,
    };
    struct ggml_context *x = ggml_init(params);
    ggml_fp16_t *mask_g = malloc(sizeof(ggml_fp16_t) * (size_t)(n * n));
    ggml_fp16_t *mask_l = malloc(sizeof(ggml_fp16_t) * (size_t)(n * n));
    float *pool = malloc(sizeof(float) * (size_t)(n * n_seq));
    int32_t *pos = malloc(sizeof(int32_t) * (size_t)n);
    int rc = -1;
    if (x == NULL || mask_g == NULL || mask_l == NULL || pool == NULL || pos == NULL) {
        rr_mb_set_err(err, "out of memory for a batch of %lld tokens", (long long)n);
        goto done;
    }
    struct rr_mb_inputs in = {.flash = c->flash};
    struct ggml_tensor *res = build(x, m, &in, n, n_seq, pooling);
    struct ggml_cgraph *gf = ggml_new_graph_custom(x, c->graph_size, false);
    ggml_build_forward_expand(gf, res);
    ggml_backend_sched_reset(c->sched);
    if (!ggml_backend_sched_alloc_graph(c->sched, gf)) {
        rr_mb_set_err(err, "cannot allocate the compute buffers for %lld tokens (out of memory?)", (long long)n);
        goto done;
    }
    fill_inputs(m, &in, tokens, start, n_seq, pooling, mask_g, mask_l, pool, pos);
    enum ggml_status st = ggml_backend_sched_graph_compute(c->sched, gf);
    if (st != GGML_STATUS_SUCCESS) {
        rr_mb_set_err(err, "ggml compute failed: %s", ggml_status_to_string(st));
        goto done;
    }
    ggml_backend_tensor_get(res, out, 0, ggml_nbytes(res));
    rc = 0;
done:
    ggml_backend_sched_reset(c->sched);
    if (x != NULL) {
        ggml_free(x);
    }
    free(mask_g);
    free(mask_l);
    free(pool);
    free(pos);
    return rc;
}
