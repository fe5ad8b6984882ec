#include "splade.h"

#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml.h"
#include "gguf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Tensor names: convert/keys' MLM* constants.
#define RR_SP_DENSE "cls.predictions.transform.dense.weight"
#define RR_SP_DENSE_B "cls.predictions.transform.dense.bias"
#define RR_SP_NORM "cls.predictions.transform.LayerNorm.weight"
#define RR_SP_NORM_B "cls.predictions.transform.LayerNorm.bias"
#define RR_SP_DECODER "cls.predictions.decoder.weight"
#define RR_SP_DECODER_B "cls.predictions.bias"

// A graph of a dozen nodes, with room for the copies the scheduler adds
// between a GPU and the CPU; ggml wants the count up front.
#define RR_SP_GRAPH_SIZE 64

struct rr_splade {
    int64_t n_embd, n_vocab, chunk;
    float eps;
    struct ggml_context *ctx; // the weights' tensors
    ggml_backend_dev_t dev;
    ggml_backend_buffer_t buf;
    struct ggml_tensor *dense, *dense_b, *norm, *norm_b, *decoder, *decoder_b;
    ggml_backend_t backends[2];
    int n_backends;
    ggml_backend_sched_t sched;
    // logits is a host copy of one graph's output (chunk × n_vocab) when
    // it is computed off the CPU; NULL until then.
    float *logits;
};

static void set_err(char *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, RR_SP_ERR_SIZE, fmt, ap);
    va_end(ap);
}

// want finds a tensor of shape [ne0, ne1] (ne1 0: a vector). Only the
// decoder may be f16; the rest are f32, as ggml's add and mul need them
// against f32 activations.
static struct ggml_tensor *want(struct rr_splade *s, char *err, const char *name, int64_t ne0, int64_t ne1) {
    if (err[0] != 0) {
        return NULL;
    }
    struct ggml_tensor *t = ggml_get_tensor(s->ctx, name);
    if (t == NULL) {
        set_err(err, "the heads file has no tensor %s", name);
        return NULL;
    }
    int64_t rows = ne1 == 0 ? 1 : ne1;
    if (t->ne[0] != ne0 || t->ne[1] != rows || t->ne[2] != 1 || t->ne[3] != 1) {
        set_err(err, "tensor %s has shape [%lld, %lld, %lld, %lld], want [%lld, %lld]", name, (long long)t->ne[0], (long long)t->ne[1],
                (long long)t->ne[2], (long long)t->ne[3], (long long)ne0, (long long)rows);
        return NULL;
    }
    bool f16ok = strcmp(name, RR_SP_DECODER) == 0;
    if (t->type != GGML_TYPE_F32 && !(f16ok && t->type == GGML_TYPE_F16)) {
        set_err(err, "tensor %s has type %s, want f32%s", name, ggml_type_name(t->type), f16ok ? " or f16" : "");
        return NULL;
    }
    return t;
}

static bool bind(struct rr_splade *s, char *err) {
    struct ggml_tensor *dec = ggml_get_tensor(s->ctx, RR_SP_DECODER);
    if (dec == NULL || dec->ne[1] < 1 || dec->ne[1] > INT32_MAX) {
        set_err(err, "the heads file has no masked-LM decoder (%s)", RR_SP_DECODER);
        return false;
    }
    int64_t H = s->n_embd, V = dec->ne[1];
    s->n_vocab = V;
    s->dense = want(s, err, RR_SP_DENSE, H, H);
    s->dense_b = want(s, err, RR_SP_DENSE_B, H, 0);
    s->norm = want(s, err, RR_SP_NORM, H, 0);
    s->norm_b = want(s, err, RR_SP_NORM_B, H, 0);
    s->decoder = want(s, err, RR_SP_DECODER, H, V);
    s->decoder_b = want(s, err, RR_SP_DECODER_B, V, 0);
    return err[0] == 0;
}

// load_data copies each tensor's bytes from the file into the weights
// buffer, through a staging copy when that buffer is not in host memory.
static bool load_data(struct rr_splade *s, const char *path, struct gguf_context *g, char *err) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        set_err(err, "cannot open %s", path);
        return false;
    }
    bool host = ggml_backend_buffer_is_host(s->buf);
    bool ok = true;
    for (int64_t i = 0; ok && i < gguf_get_n_tensors(g); i++) {
        struct ggml_tensor *t = ggml_get_tensor(s->ctx, gguf_get_tensor_name(g, i));
        size_t n = ggml_nbytes(t);
        void *dst = host ? t->data : malloc(n);
        if (dst == NULL || fseek(f, (long)(gguf_get_data_offset(g) + gguf_get_tensor_offset(g, i)), SEEK_SET) != 0 ||
            fread(dst, 1, n, f) != n) {
            set_err(err, "cannot read tensor %s from %s (truncated file?)", t->name, path);
            ok = false;
        } else if (!host) {
            ggml_backend_tensor_set(t, dst, 0, n);
        }
        if (!host) {
            free(dst);
        }
    }
    fclose(f);
    return ok;
}

static bool start_backends(struct rr_splade *s, int32_t n_threads, char *err) {
    s->backends[s->n_backends++] = ggml_backend_dev_init(s->dev, NULL);
    if (ggml_backend_dev_type(s->dev) != GGML_BACKEND_DEVICE_TYPE_CPU) {
        // The scheduler runs ops a GPU backend lacks on the CPU.
        s->backends[s->n_backends++] = ggml_backend_dev_init(ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU), NULL);
    }
    for (int i = 0; i < s->n_backends; i++) {
        if (s->backends[i] == NULL) {
            set_err(err, "cannot start the ggml backend of %s", ggml_backend_dev_name(s->dev));
            return false;
        }
        ggml_backend_dev_t dev = ggml_backend_get_device(s->backends[i]);
        ggml_backend_reg_t reg = dev == NULL ? NULL : ggml_backend_dev_backend_reg(dev);
        ggml_backend_set_n_threads_t set_threads =
            reg == NULL ? NULL : (ggml_backend_set_n_threads_t)ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_n_threads");
        if (set_threads != NULL && n_threads > 0) {
            set_threads(s->backends[i], n_threads);
        }
    }
    s->sched = ggml_backend_sched_new(s->backends, NULL, s->n_backends, RR_SP_GRAPH_SIZE, false, false);
    if (s->sched == NULL) {
        set_err(err, "cannot create the ggml scheduler");
        return false;
    }
    return true;
}

struct rr_splade *rr_splade_load(const char *path, int32_t n_embd, float eps, bool gpu, int32_t n_threads, int32_t chunk,
                                 int32_t *n_vocab, char *err) {
    err[0] = 0;
    struct rr_splade *s = calloc(1, sizeof *s);
    s->n_embd = n_embd;
    s->eps = eps;
    s->chunk = chunk;
    struct gguf_init_params params = {.no_alloc = true, .ctx = &s->ctx};
    struct gguf_context *g = gguf_init_from_file(path, params);
    if (g == NULL) {
        set_err(err, "cannot read %s as GGUF", path);
        rr_splade_free(s);
        return NULL;
    }
    if (!bind(s, err)) {
        gguf_free(g);
        rr_splade_free(s);
        return NULL;
    }
    s->dev = gpu ? ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_GPU) : NULL;
    if (s->dev == NULL) {
        s->dev = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    }
    s->buf = s->dev == NULL ? NULL : ggml_backend_alloc_ctx_tensors_from_buft(s->ctx, ggml_backend_dev_buffer_type(s->dev));
    if (s->buf == NULL) {
        set_err(err, "cannot allocate the SPLADE head of %s (out of memory?)", path);
        gguf_free(g);
        rr_splade_free(s);
        return NULL;
    }
    ggml_backend_buffer_set_usage(s->buf, GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
    bool ok = load_data(s, path, g, err) && start_backends(s, n_threads, err);
    gguf_free(g);
    if (!ok) {
        rr_splade_free(s);
        return NULL;
    }
    *n_vocab = (int32_t)s->n_vocab;
    return s;
}

uint64_t rr_splade_size(const struct rr_splade *s) { return s->buf == NULL ? 0 : ggml_backend_buffer_get_size(s->buf); }

void rr_splade_free(struct rr_splade *s) {
    if (s == NULL) {
        return;
    }
    if (s->sched != NULL) {
        ggml_backend_sched_free(s->sched);
    }
    for (int i = 0; i < s->n_backends; i++) {
        if (s->backends[i] != NULL) {
            ggml_backend_free(s->backends[i]);
        }
    }
    if (s->buf != NULL) {
        ggml_backend_buffer_free(s->buf);
    }
    if (s->ctx != NULL) {
        ggml_free(s->ctx);
    }
    free(s->logits);
    free(s);
}

// max_into runs the head on n states, decoder(LayerNorm(gelu(dense(h)))),
// transformers' BertLMPredictionHead with BERT's erf GELU, and folds each
// token's logits into the maximum of its sequence: seq[t] is token t's row
// of out.
static int max_into(struct rr_splade *s, const float *states, int64_t n, const int32_t *seq, float *out, char *err) {
    struct ggml_init_params params = {
        .mem_size = ggml_tensor_overhead() * RR_SP_GRAPH_SIZE + ggml_graph_overhead_custom(RR_SP_GRAPH_SIZE, false),
        .mem_buffer = NULL,
        .no_alloc = true,
    };
    struct ggml_context *x = ggml_init(params);
    if (x == NULL) {
        set_err(err, "out of memory for the SPLADE graph");
        return -1;
    }
    struct ggml_tensor *in = ggml_new_tensor_2d(x, GGML_TYPE_F32, s->n_embd, n);
    ggml_set_input(in);
    struct ggml_tensor *cur = ggml_add(x, ggml_mul_mat(x, s->dense, in), s->dense_b);
    cur = ggml_gelu_erf(x, cur);
    cur = ggml_add(x, ggml_mul(x, ggml_norm(x, cur, s->eps), s->norm), s->norm_b);
    cur = ggml_add(x, ggml_mul_mat(x, s->decoder, cur), s->decoder_b); // [n_vocab, n]
    ggml_set_output(cur);
    struct ggml_cgraph *gf = ggml_new_graph_custom(x, RR_SP_GRAPH_SIZE, false);
    ggml_build_forward_expand(gf, cur);
    int rc = -1;
    ggml_backend_sched_reset(s->sched);
    if (!ggml_backend_sched_alloc_graph(s->sched, gf)) {
        set_err(err, "cannot allocate the SPLADE head's buffers for %lld tokens (out of memory?)", (long long)n);
        goto done;
    }
    ggml_backend_tensor_set(in, states, 0, sizeof(float) * (size_t)(n * s->n_embd));
    enum ggml_status st = ggml_backend_sched_graph_compute(s->sched, gf);
    if (st != GGML_STATUS_SUCCESS) {
        set_err(err, "ggml compute failed: %s", ggml_status_to_string(st));
        goto done;
    }
    // On the CPU the logits are read where ggml wrote them: a copy would
    // be as large as the compute buffer.
    const float *l = (const float *)cur->data;
    if (!ggml_backend_buffer_is_host(cur->buffer)) {
        if (s->logits == NULL && (s->logits = malloc(sizeof(float) * (size_t)(s->chunk * s->n_vocab))) == NULL) {
            set_err(err, "out of memory for the SPLADE head's logits");
            goto done;
        }
        ggml_backend_tensor_get(cur, s->logits, 0, ggml_nbytes(cur));
        l = s->logits;
    }
    int64_t V = s->n_vocab;
    for (int64_t t = 0; t < n; t++, l += V) {
        float *o = out + (int64_t)seq[t] * V;
        for (int64_t v = 0; v < V; v++) {
            o[v] = l[v] > o[v] ? l[v] : o[v];
        }
    }
    rc = 0;
done:
    ggml_backend_sched_reset(s->sched);
    ggml_free(x);
    return rc;
}

int rr_splade_max_logits(struct rr_splade *s, const float *states, const int32_t *start, int32_t n_seq, float *out, char *err) {
    err[0] = 0;
    int64_t V = s->n_vocab, total = start[n_seq];
    int32_t *seq = malloc(sizeof(int32_t) * (size_t)total);
    if (seq == NULL) {
        set_err(err, "out of memory for %lld tokens", (long long)total);
        return -1;
    }
    for (int32_t i = 0; i < n_seq; i++) {
        for (int32_t t = start[i]; t < start[i + 1]; t++) {
            seq[t] = i;
        }
    }
    for (int64_t i = 0; i < (int64_t)n_seq * V; i++) {
        out[i] = -INFINITY;
    }
    // Chunks of tokens bound the logits a graph holds; a sequence may
    // span several, its maximum carried over in out.
    int rc = 0;
    for (int64_t t0 = 0; rc == 0 && t0 < total; t0 += s->chunk) {
        int64_t n = total - t0 < s->chunk ? total - t0 : s->chunk;
        rc = max_into(s, states + t0 * s->n_embd, n, seq + t0, out, err);
    }
    free(seq);
    return rc;
}
