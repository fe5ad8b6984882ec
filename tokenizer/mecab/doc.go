// Package mecab is a pure-Go morphological analyzer that reproduces MeCab
// 0.996's best path exactly, reading MeCab's own compiled dictionary
// directory (sys.dic, unk.dic, char.bin, matrix.bin, dicrc).
//
// It exists because Japanese BERT models (cl-tohoku v3 vocab: ruri,
// japanese-reranker) are trained on BertJapaneseTokenizer, whose word
// segmentation is MeCab's; WordPiece then runs on these words. Any deviation
// from MeCab changes token ids, so the bar is byte-identical output to
// `mecab -Owakati` on the same dictionary, and the tests compare against the
// real binary on Debian's ipadic-utf8 and unidic dictionaries.
//
// What is reproduced (see lattice.go): the double-array common-prefix search,
// MeCab's UTF-8 to UCS-2 decoding (characters outside the BMP all map to
// code point 0), the skipping of leading SPACE-class characters before each
// word, unknown-word generation from char.def (invoke, group with its
// 24-character cap, length), the 65535-byte lookup window with its 16-bit
// node length (which wraps after 65535 bytes of whitespace), and the Viterbi
// search with MeCab's node order, so that ties between equal-cost paths are
// broken the same way.
//
// Input is one sentence, as libmecab's Tagger::parse sees it. The mecab
// command splits its input into lines first; a text holding "\n" or "\t" is
// analyzed as one sentence in which these characters belong to whatever
// category char.def gives them (SPACE in ipadic and unidic, so they separate
// words and never appear in a surface). For input without newlines the
// result equals `mecab -Owakati`. A NUL byte is an ordinary byte here, while
// the mecab command would end the line at it.
//
// Only UTF-8 dictionaries are accepted (Debian's mecab-ipadic-utf8 and
// unidic-mecab, unidic-lite). User dictionaries, partial parsing, N-best
// and marginal probabilities are not implemented.
//
// The package must not do normalization (NFKC) or WordPiece: callers own
// those steps. It imports nothing from the rest of rerank-api.
package mecab
