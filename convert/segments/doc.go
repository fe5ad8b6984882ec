// Package segments gives BERT cross-encoders their second token type in
// llama.cpp without patching it.
//
// # The problem
//
// A BERT cross-encoder reads a (query, document) pair as
// "[CLS] query [SEP] document [SEP]" and adds a token-type (segment)
// embedding to every token: type 0 for "[CLS] query [SEP]", type 1 for
// "document [SEP]". llama.cpp's BERT graph adds row 0 of token_types to
// every token whatever the pair (src/models/bert.cpp: "token types are
// hardcoded to zero"), so the document half is embedded wrongly and scores
// move by 0.2–0.4 logits on real rerankers.
//
// # The technique
//
// The input embedding of a token is token_embd[id] + token_types[type] +
// position. Since llama.cpp always adds token_types[0], a second copy of the
// vocabulary whose rows are
//
//	token_embd[V+i] = token_embd[i] + token_types[1] − token_types[0]
//
// makes token V+i embed exactly as token i of type 1:
// token_embd[V+i] + token_types[0] = token_embd[i] + token_types[1]. A
// converter appends those V rows (ExtendEmbeddings) and V vocabulary entries
// (ExtendVocab), and records V under OffsetKey; at run time the server sends
// every segment-B token as id+V. Nothing else changes: the same GGUF still
// loads in any llama.cpp, and a program that never adds V gets the old
// (type 0) behaviour.
//
// The extra vocabulary entries are typed UNUSED and named TextPrefix+text.
// WordPiece (llama.cpp's WPM) tokenization cannot produce them: it splits
// "[" off as punctuation before looking words up, so no word starts with
// "[B]". SentencePiece unigram (UGM) tokenizers do consider UNUSED pieces,
// so there the copies need a score far below the unknown token's (see
// ExtendVocab); rerank-api applies the offset only to WordPiece models
// (BERT's "[CLS] q [SEP] d [SEP]"), since XLM-RoBERTa-style pairs are all
// type 0 and its models have one token type anyway.
//
// This package is pure Go and a leaf (standard library only): the HF→GGUF
// converter and internal/testmodel both call it, and the backend only needs
// OffsetKey.
package segments
