#include "shim.h"
#include "_cgo_export.h"
#include "gguf.h"

static void rr_log_callback(enum ggml_log_level level, const char *text, void *user_data) {
    (void)user_data;
    goLogSink((int)level, (char *)text);
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
