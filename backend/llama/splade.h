// A SPLADE model's masked-LM head on ggml's public API: the logits of
// transformers' BertOnlyMLMHead for every token state, reduced to their
// maximum per sequence. The heads GGUF that convert/splade.go writes holds
// it; llama.cpp cannot run it inside the model's GGUF (see convert/keys).
#pragma once
#include <stdbool.h>
#include <stdint.h>

#define RR_SP_ERR_SIZE 512

struct rr_splade;

// rr_splade_load reads the head from the GGUF at path into a weights
// buffer on the first GPU when gpu and one exists, else on the CPU, after
// checking every tensor against n_embd. eps is the encoder's LayerNorm
// epsilon, which the head's LayerNorm shares; chunk is the most tokens one
// graph computes, which bounds the compute buffer (chunk × vocab logits).
// n_vocab is set to the decoder's rows. NULL with err set on failure.
struct rr_splade *rr_splade_load(const char *path, int32_t n_embd, float eps, bool gpu, int32_t n_threads, int32_t chunk,
                                 int32_t *n_vocab, char *err);
uint64_t rr_splade_size(const struct rr_splade *s);
void rr_splade_free(struct rr_splade *s);

// rr_splade_max_logits runs the head on n_tokens states (n_embd floats
// each, token after token) of n_seq sequences, sequence s being tokens
// start[s]..start[s+1]. out receives n_seq rows of n_vocab floats: each
// vocabulary entry's largest logit over the sequence's tokens. Not safe
// for concurrent calls on one head. Returns 0, or -1 with err set.
int rr_splade_max_logits(struct rr_splade *s, const float *states, const int32_t *start, int32_t n_seq, float *out, char *err);
