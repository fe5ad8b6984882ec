#include "shim.h"
#include "_cgo_export.h"
#include "gguf.h"

#include <string.h>
#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

// llama.cpp has one log callback per process and reports why a call failed
// only there, so a failed call's cause is read back from the log. Serializing
// those calls behind a lock would also make model loads wait for a
// quantization (minutes, when the server pulls a model), and would still let
// an encode failing elsewhere slip its line in. Instead each wrapper below
// captures, per thread, the error lines logged while it runs: llama.cpp
// logs a failure on the thread that made the call, so concurrent calls never
// see each other's text. Lines logged by worker threads are not captured;
// they still reach the log.
struct rr_capture {
    char *buf; // the caller's RR_ERR_SIZE bytes, NUL-terminated
    size_t len;
};

static _Thread_local struct rr_capture *rr_current;
// rr_error_line is set while this thread's log line is an error: llama.cpp
// logs some lines in pieces, and GGML_LOG_LEVEL_CONT continues the last.
static _Thread_local bool rr_error_line;

static void rr_capture_begin(struct rr_capture *c, char *buf) {
    c->buf = buf;
    c->len = 0;
    buf[0] = 0;
    rr_current = c;
}

static void rr_capture_append(struct rr_capture *c, const char *text) {
    size_t n = strlen(text);
    if (n > RR_ERR_SIZE - 1 - c->len) {
        n = RR_ERR_SIZE - 1 - c->len; // the first lines name the cause; keep those
    }
    memcpy(c->buf + c->len, text, n);
    c->len += n;
    c->buf[c->len] = 0;
}

static void rr_log_callback(enum ggml_log_level level, const char *text, void *user_data) {
    (void)user_data;
    if (level != GGML_LOG_LEVEL_CONT) {
        rr_error_line = level == GGML_LOG_LEVEL_ERROR;
    }
    if (rr_current != NULL && rr_error_line) {
        rr_capture_append(rr_current, text);
    }
    goLogSink((int)level, (char *)text);
}

struct llama_model *rr_model_load(const char *path, struct llama_model_params params, char *err) {
    struct rr_capture c;
    rr_capture_begin(&c, err);
    struct llama_model *m = llama_model_load_from_file(path, params);
    rr_current = NULL;
    return m;
}

struct llama_context *rr_init_from_model(struct llama_model *model, struct llama_context_params params, char *err) {
    struct rr_capture c;
    rr_capture_begin(&c, err);
    struct llama_context *ctx = llama_init_from_model(model, params);
    rr_current = NULL;
    return ctx;
}

struct llama_adapter_lora *rr_adapter_lora_init(struct llama_model *model, const char *path, char *err) {
    struct rr_capture c;
    rr_capture_begin(&c, err);
    struct llama_adapter_lora *a = llama_adapter_lora_init(model, path);
    rr_current = NULL;
    return a;
}

uint32_t rr_model_quantize(const char *in, const char *out, const llama_model_quantize_params *params, char *err) {
    struct rr_capture c;
    rr_capture_begin(&c, err);
    uint32_t rc = llama_model_quantize(in, out, params);
    rr_current = NULL;
    return rc;
}

void rr_log_install(void) {
    llama_log_set(rr_log_callback, NULL);
}

void rr_batch_set(struct llama_batch *b, int32_t i, llama_token id, llama_pos pos, llama_seq_id seq) {
    b->token[i] = id;
    b->pos[i] = pos;
    b->n_seq_id[i] = 1;
    b->seq_id[i][0] = seq;
    b->logits[i] = 1;
}

bool rr_gguf_has_tensor(const char *path, const char *name) {
    struct gguf_init_params params = { .no_alloc = true, .ctx = NULL };
    struct gguf_context *g = gguf_init_from_file(path, params);
    if (g == NULL) {
        return false;
    }
    bool found = gguf_find_tensor(g, name) >= 0;
    gguf_free(g);
    return found;
}

// rr_malloc_return_freed makes glibc serve allocations of 64 KiB and more
// with mmap, so the buffers of an unloaded model go back to the system.
// With glibc's default (a threshold that grows with the largest block
// freed), they stayed in the heap: a soak that reloads models under load
// grew RSS by 104% in 10 minutes. An operator's MALLOC_MMAP_THRESHOLD_
// wins.
void rr_malloc_return_freed(void) {
#if defined(__GLIBC__)
    if (getenv("MALLOC_MMAP_THRESHOLD_") == NULL) {
        mallopt(M_MMAP_THRESHOLD, 64 * 1024);
    }
#endif
}
