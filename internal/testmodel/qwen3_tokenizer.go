package testmodel

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/rerank-api/rerank-api/convert/vocab"
)

// The Qwen3 test models' tokenizer: byte-level BPE with Qwen2's
// pre-tokenizer, like Qwen3's own but small. Its ids: the 256 byte
// characters (in byte order), then every prefix of every word of
// qwen3Words, bare and after "Ġ" (a space), each the merge of its prefix
// one letter shorter and its last letter, then the added tokens. Words
// outside the list fall apart into shorter pieces, which Qwen3IDs
// reproduces by running the merges as transformers' BPE does.

// The added tokens: the first three special, <think> and </think> not,
// as in Qwen3's tokenizer.
var qwen3Added = []qwen3AddedToken{
	{"<|endoftext|>", true}, {"<|im_start|>", true}, {"<|im_end|>", true}, {"<think>", false}, {"</think>", false},
}

type qwen3AddedToken struct {
	text    string
	special bool
}

// qwen3Words are the default test vocabulary's words, the words of the
// reranker's prompt and the two answers its head reads.
func qwen3Words() []string {
	words := mistralWords()
	words = append(words, strings.Fields("yes no Instruct Query Document Given web search query retrieve relevant passages "+
		"that answer the Judge whether meets requirements based on and provided Note can only be system user assistant")...)
	seen := map[string]bool{}
	return slices.DeleteFunc(words, func(w string) bool {
		dup := seen[w]
		seen[w] = true
		return dup
	})
}

// qwen3Vocab returns the tokens by id and the merges by rank.
func qwen3Vocab() (tokens, merges []string) {
	table := vocab.ByteToUnicode()
	seen := map[string]bool{}
	for _, r := range table {
		tokens = append(tokens, string(r))
		seen[string(r)] = true
	}
	space := string(table[' '])
	maxLen := 0
	for _, w := range qwen3Words() {
		maxLen = max(maxLen, len([]rune(w))+1)
	}
	for n := 2; n <= maxLen; n++ {
		for _, w := range qwen3Words() {
			for _, piece := range [][]rune{[]rune(w), []rune(space + w)} {
				if len(piece) < n || seen[string(piece[:n])] {
					continue
				}
				seen[string(piece[:n])] = true
				tokens = append(tokens, string(piece[:n]))
				merges = append(merges, string(piece[:n-1])+" "+string(piece[n-1:n]))
			}
		}
	}
	for _, a := range qwen3Added {
		tokens = append(tokens, a.text)
	}
	return tokens, merges
}

// Qwen3Vocab is the Qwen3 test models' tokens by id.
func Qwen3Vocab() []string {
	tokens, _ := qwen3Vocab()
	return tokens
}

// Qwen3TokenID is the id of a token of Qwen3Vocab; it panics on any other.
func Qwen3TokenID(token string) int32 {
	i := slices.Index(Qwen3Vocab(), token)
	if i < 0 {
		panic(fmt.Sprintf("testmodel: %q is not a Qwen3 test token", token))
	}
	return int32(i)
}

// Qwen3IDs tokenizes text as transformers' tokenizer of the Qwen3 test
// models does with add_special_tokens=False: added tokens are cut out
// first (the special ones only when parseSpecial, as llama.cpp's
// parse_special; <think> always), the rest is split by Qwen2's expression,
// spelt in byte-level characters and merged by rank.
func Qwen3IDs(text string, parseSpecial bool) []int32 {
	tokens, merges := qwen3Vocab()
	id := map[string]int32{}
	for i, t := range tokens {
		id[t] = int32(i)
	}
	rank := map[string]int{}
	for r, m := range merges {
		rank[m] = r
	}
	var out []int32
	for _, part := range splitAdded(text, parseSpecial) {
		if part.added {
			out = append(out, id[part.text])
			continue
		}
		for _, word := range qwen2Split(part.text) {
			for _, piece := range bpe(vocab.ByteLevelText(word), rank) {
				out = append(out, id[piece])
			}
		}
	}
	return out
}

// textPart is a part of a text: an added token it matched, or text
// between them.
type textPart struct {
	text  string
	added bool
}

// splitAdded cuts text at the added tokens it matches, keeping them as
// parts of their own.
func splitAdded(text string, parseSpecial bool) []textPart {
	var parts []textPart
	for text != "" {
		at, match := len(text), ""
		for _, a := range qwen3Added {
			if !a.special || parseSpecial {
				if i := strings.Index(text, a.text); i >= 0 && i < at {
					at, match = i, a.text
				}
			}
		}
		if at > 0 {
			parts = append(parts, textPart{text: text[:at]})
		}
		if match == "" {
			break
		}
		parts = append(parts, textPart{text: match, added: true})
		text = text[at+len(match):]
	}
	return parts
}

// qwen2Alternatives are the branches of Qwen2's pre-tokenizer expression
// before its two whitespace branches, tried in order at each position as
// the regular expression's alternation does.
var qwen2Alternatives = []*regexp.Regexp{
	regexp.MustCompile(`^(?i:'s|'t|'re|'ve|'m|'ll|'d)`),
	regexp.MustCompile(`^[^\r\n\p{L}\p{N}]?\p{L}+`),
	regexp.MustCompile(`^\p{N}`),
	regexp.MustCompile(`^ ?[^\s\p{L}\p{N}]+[\r\n]*`),
	regexp.MustCompile(`^\s*[\r\n]+`),
}

// qwen2Split splits text as Qwen2's pre-tokenizer does. Go's regexp has
// no lookahead, so the branch \s+(?!\S) is done by hand: a run of
// whitespace followed by a non-space gives up its last character, which
// then joins what follows; a single one matches \s+ alone.
func qwen2Split(text string) []string {
	var out []string
	for len(text) > 0 {
		n := 0
		for _, re := range qwen2Alternatives {
			if m := re.FindString(text); m != "" {
				n = len(m)
				break
			}
		}
		if n == 0 {
			run := len(text) - len(strings.TrimLeftFunc(text, unicode.IsSpace))
			n = run
			if run < len(text) && run > 1 {
				n = run - len(string(lastRune(text[:run])))
			}
		}
		out = append(out, text[:n])
		text = text[n:]
	}
	return out
}

func lastRune(s string) rune {
	r := []rune(s)
	return r[len(r)-1]
}

// bpe merges the characters of word pair by pair, lowest rank first, every
// occurrence of a pair left to right, as Hugging Face's BPE does.
func bpe(word string, rank map[string]int) []string {
	var pieces []string
	for _, r := range word {
		pieces = append(pieces, string(r))
	}
	for {
		best, at := -1, -1
		for i := 0; i+1 < len(pieces); i++ {
			if r, ok := rank[pieces[i]+" "+pieces[i+1]]; ok && (best < 0 || r < best) {
				best, at = r, i
			}
		}
		if at < 0 {
			return pieces
		}
		pair := pieces[at] + " " + pieces[at+1]
		var merged []string
		for i := 0; i < len(pieces); i++ {
			if i+1 < len(pieces) && pieces[i]+" "+pieces[i+1] == pair {
				merged = append(merged, pieces[i]+pieces[i+1])
				i++
				continue
			}
			merged = append(merged, pieces[i])
		}
		pieces = merged
	}
}

// qwen3TokenizerJSON is tokenizer.json as Qwen3's is shaped: an NFC
// normalizer, Qwen2's Split then ByteLevel, a ByteLevel post-processor
// that adds nothing (the embedding card appends <|endoftext|> by hand),
// and the added tokens.
func qwen3TokenizerJSON() map[string]any {
	tokens, merges := qwen3Vocab()
	ids := map[string]int{}
	for i, t := range tokens[:len(tokens)-len(qwen3Added)] {
		ids[t] = i
	}
	var addedTokens []any
	for i, a := range qwen3Added {
		t := added(len(tokens)-len(qwen3Added)+i, a.text)
		t["special"] = a.special
		addedTokens = append(addedTokens, t)
	}
	byteLevel := map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}
	return map[string]any{
		"version": "1.0", "truncation": nil, "padding": nil, "added_tokens": addedTokens,
		"normalizer": map[string]any{"type": "NFC"},
		"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": qwen2Pattern}, "behavior": "Isolated", "invert": false},
			byteLevel,
		}},
		"post_processor": byteLevel,
		"decoder":        byteLevel,
		"model": map[string]any{
			"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": "", "end_of_word_suffix": "",
			"fuse_unk": false, "byte_fallback": false, "ignore_merges": false, "vocab": ids, "merges": merges,
		},
	}
}

// qwen2Pattern is Qwen2's pre-tokenizer expression as its tokenizer.json
// spells it.
const qwen2Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
