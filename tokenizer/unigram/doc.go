// Package unigram tokenizes text as a SentencePiece unigram model with byte
// fallback does (tokenizers' Unigram with byte_fallback, SentencePiece's
// byte_fallback): the Viterbi path of highest total piece score, where a
// character no piece spells becomes the pieces of its UTF-8 bytes. The
// modernbert-ja vocabulary of ruri-v3 and its rerankers is such a model;
// llama.cpp's UGM tokenizer writes <unk> there instead (llama.cpp issue
// #28862), which for that vocabulary covers every newline, tab, emoji and
// rare kanji.
//
// It applies no normalization but the escape of spaces as "▁" and an
// optional "▁" before the text: a model with a precompiled charsmap or
// collapsed whitespace needs llama.cpp's tokenizer. It must not know about
// GGUF files, models or special-token parsing.
package unigram
