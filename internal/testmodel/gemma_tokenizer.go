package testmodel

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Gemma's special ids: <pad> <eos> <bos> <unk> <mask> first, as in every
// Gemma tokenizer.
const (
	gemmaPad int32 = 0
	gemmaEOS int32 = 1
	gemmaBOS int32 = 2
)

var gemmaSpecials = []string{"<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<start_of_turn>", "<end_of_turn>"}

// gemmaSingles are the characters with a piece of their own besides the
// default words' letters; any other character falls back to its bytes.
const gemmaSingles = "0123456789:|,.?-'"

// GemmaVocab returns the SentencePiece BPE vocabulary of the Gemma test
// models: the specials, the byte pieces <0x00> to <0xFF>, "▁", single
// characters (the default words' letters and gemmaSingles), then "▁"
// followed by every prefix of every default word, shortest first. Gemma
// puts no "▁" before a text, so its first word is spelt out in single
// characters; every other word follows a "▁" and merges into its piece.
// Only pieces starting with "▁" are longer than one character, so HF's
// BPE (pair ranks) and llama.cpp's (scores of joined pieces) agree.
func GemmaVocab() []string {
	vocab := append([]string(nil), gemmaSpecials...)
	for b := range 256 {
		vocab = append(vocab, fmt.Sprintf("<0x%02X>", b))
	}
	vocab = append(vocab, "▁")
	seen := map[string]bool{"▁": true}
	for _, r := range strings.Join(mistralWords(), "") + gemmaSingles {
		if !seen[string(r)] {
			seen[string(r)] = true
			vocab = append(vocab, string(r))
		}
	}
	maxLen := 0
	for _, word := range mistralWords() {
		maxLen = max(maxLen, len(word))
	}
	for n := 1; n <= maxLen; n++ {
		for _, word := range mistralWords() {
			if len(word) >= n && !seen["▁"+word[:n]] {
				seen["▁"+word[:n]] = true
				vocab = append(vocab, "▁"+word[:n])
			}
		}
	}
	return vocab
}

// gemmaMerges are the BPE merges of GemmaVocab, by rank: each piece of
// n > 1 characters from its first n-1 and its last.
func gemmaMerges() [][2]string {
	var merges [][2]string
	for _, piece := range GemmaVocab() {
		if r := []rune(piece); len(r) > 1 && r[0] == '▁' {
			merges = append(merges, [2]string{string(r[:len(r)-1]), string(r[len(r)-1])})
		}
	}
	return merges
}

// GemmaIDs tokenizes text as transformers does with the tokenizer
// WriteGemmaHF writes: spaces become "▁" (no "▁" in front), characters
// without a piece become their UTF-8 bytes, then BPE merges the adjacent
// pair of lowest rank until none is left; <bos> and <eos> around. It is
// written from tokenizers' algorithm, not llama.cpp's.
func GemmaIDs(text string) []int32 {
	index := map[string]int32{}
	for i, piece := range GemmaVocab() {
		index[piece] = int32(i)
	}
	merges := gemmaMerges()
	rank := map[[2]string]int{}
	for r, m := range merges {
		rank[m] = r
	}
	var symbols []string
	for _, r := range strings.ReplaceAll(text, " ", "▁") {
		if _, ok := index[string(r)]; ok {
			symbols = append(symbols, string(r))
			continue
		}
		buf := make([]byte, utf8.RuneLen(r))
		utf8.EncodeRune(buf, r)
		for _, b := range buf {
			symbols = append(symbols, fmt.Sprintf("<0x%02X>", b))
		}
	}
	for {
		best, at := len(rank), -1
		for i := 0; i+1 < len(symbols); i++ {
			if r, ok := rank[[2]string{symbols[i], symbols[i+1]}]; ok && r < best {
				best, at = r, i
			}
		}
		if at < 0 {
			break
		}
		symbols[at] = merges[best][0] + merges[best][1]
		symbols = slices.Delete(symbols, at+1, at+2)
	}
	ids := []int32{gemmaBOS}
	for _, s := range symbols {
		ids = append(ids, index[s])
	}
	return append(ids, gemmaEOS)
}

func gemmaAddedDecoder() map[string]any {
	decoder := map[string]any{}
	for i, s := range gemmaSpecials {
		decoder[fmt.Sprint(i)] = added(i, s)
	}
	return decoder
}

// gemmaTokenizerJSON is tokenizer.json as transformers' GemmaConverter
// writes it: a BPE model with byte fallback, spaces replaced by "▁" in the
// normalizer (no prefix), a split on spaces that the normalizer has left
// nothing to do for, and <bos> text <eos> from the post-processor.
func gemmaTokenizerJSON() map[string]any {
	vocab := GemmaVocab()
	ids := make(map[string]int, len(vocab))
	for i, piece := range vocab {
		ids[piece] = i
	}
	var merges []string
	for _, m := range gemmaMerges() {
		merges = append(merges, m[0]+" "+m[1])
	}
	var addedTokens []any
	for i, s := range gemmaSpecials {
		addedTokens = append(addedTokens, added(i, s))
	}
	special := func(s string, id int32) map[string]any {
		return map[string]any{"id": s, "ids": []int32{id}, "tokens": []string{s}}
	}
	return map[string]any{
		"version": "1.0", "truncation": nil, "padding": nil, "added_tokens": addedTokens,
		"normalizer":    map[string]any{"type": "Replace", "pattern": map[string]any{"String": " "}, "content": "▁"},
		"pre_tokenizer": map[string]any{"type": "Split", "pattern": map[string]any{"String": " "}, "behavior": "MergedWithPrevious", "invert": false},
		"post_processor": map[string]any{
			"type": "TemplateProcessing",
			"single": []any{
				map[string]any{"SpecialToken": map[string]any{"id": "<bos>", "type_id": 0}},
				map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}},
				map[string]any{"SpecialToken": map[string]any{"id": "<eos>", "type_id": 0}},
			},
			"special_tokens": map[string]any{"<bos>": special("<bos>", gemmaBOS), "<eos>": special("<eos>", gemmaEOS)},
		},
		"decoder": map[string]any{"type": "Sequence", "decoders": []any{
			map[string]any{"type": "Replace", "pattern": map[string]any{"String": "▁"}, "content": " "},
			map[string]any{"type": "ByteFallback"}, map[string]any{"type": "Fuse"},
		}},
		"model": map[string]any{
			"type": "BPE", "dropout": nil, "unk_token": "<unk>", "continuing_subword_prefix": nil,
			"end_of_word_suffix": nil, "fuse_unk": true, "byte_fallback": true, "vocab": ids, "merges": merges,
		},
	}
}
