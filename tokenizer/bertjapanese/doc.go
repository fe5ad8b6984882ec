// Package bertjapanese tokenizes text as transformers' BertJapaneseTokenizer
// does, so Japanese BERT models (cl-tohoku's vocabularies: ruri,
// japanese-reranker, GLuCoSE) see the token ids they were trained on.
// llama.cpp's WordPiece cannot: it strips voicing marks, lowercases, skips
// NFKC and splits kanji one by one.
//
// The pipeline, per text (transformers' PreTrainedTokenizer.tokenize and
// tokenization_bert_japanese.py):
//
//  1. The text is split around special tokens written in it ("[SEP]",
//     "[MASK]"), which become their own ids; with do_lower_case the other
//     parts are lowercased.
//  2. Word tokenizer "mecab": NFKC (MecabTokenizer's normalize_text), then
//     MeCab's best path (tokenizer/mecab, identical to MeCab 0.996), each
//     surface lowercased with do_lower_case. Word tokenizer "basic":
//     BERT's BasicTokenizer without CJK splitting and without NFKC.
//  3. Subword tokenizer "wordpiece": greedy longest match with "##"
//     continuations, words over 100 characters becoming [UNK]; or
//     "character": one token per character, NFKC-normalized.
//
// Offsets map every token back to bytes of the original text; where NFKC
// or lowercasing changed the text, a token maps to the whole original
// stretch it came from (best effort: "㍿" yields 株式 and 会社, both
// pointing at the one original character).
//
// The package must not download a dictionary or read settings of its own:
// callers pass the dictionary directory (Config.Dicdir helps choose it;
// only a null mecab_dic falls back to MeCab's own mecabrc default), and
// pull/ fetches unidic-lite. It imports only tokenizer/mecab and
// golang.org/x/text.
package bertjapanese
