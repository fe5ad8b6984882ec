package bertjapanese

import (
	"fmt"
	"sort"
	"strings"

	"github.com/rerank-api/rerank-api/tokenizer/mecab"
)

// Token is one token of a text.
type Token struct {
	ID int32
	// Piece is the vocabulary entry ("東京", "##都", "[UNK]").
	Piece string
	// Special marks [CLS], [SEP] and the other special tokens, whether
	// added around the text or written in it.
	Special bool
	// Start and End are the token's bytes in the original text, -1 for
	// specials added around it.
	Start, End int
}

// Tokenizer is a BertJapaneseTokenizer with its vocabulary. It is safe for
// concurrent use.
type Tokenizer struct {
	cfg        Config
	vocab      map[string]int32 // vocab.txt entry -> id; a repeated entry keeps its last id, as load_vocab does
	pieces     []string         // by id
	continued  map[string]int32 // "##piece" entries by "piece", so lookups need no concatenation
	unk        int32
	cls, sep   int32
	specials   []string // cut out of the text before word tokenization, longest first
	firstByte  [256]bool
	neverSplit map[string]bool
	analyzer   *mecab.Analyzer // nil unless the word tokenizer is MeCab
}

// New builds the tokenizer for cfg over vocab (vocab.txt's lines in id
// order). dicdir is the MeCab dictionary (Config.Dicdir), ignored unless the
// word tokenizer is MeCab. Close releases the dictionary.
func New(cfg Config, vocab []string, dicdir string) (*Tokenizer, error) {
	t := &Tokenizer{cfg: cfg, vocab: make(map[string]int32, len(vocab)), pieces: vocab, continued: map[string]int32{}, neverSplit: map[string]bool{}}
	for i, tok := range vocab {
		t.vocab[tok] = int32(i)
		if rest, ok := strings.CutPrefix(tok, "##"); ok && rest != "" {
			t.continued[rest] = int32(i)
		}
	}
	ids := map[string]*int32{cfg.UnkToken: &t.unk, cfg.CLSToken: &t.cls, cfg.SepToken: &t.sep}
	for tok, dst := range ids {
		id, ok := t.vocab[tok]
		if !ok {
			return nil, fmt.Errorf("bertjapanese: special token %q is not in the vocabulary", tok)
		}
		*dst = id
	}
	for _, s := range cfg.Specials {
		if _, ok := t.vocab[s]; ok && s != "" {
			t.specials = append(t.specials, s)
			t.firstByte[s[0]] = true
		}
		t.neverSplit[s] = true
	}
	// At a position where several specials start, the longest wins, as in
	// transformers' Trie.
	sort.SliceStable(t.specials, func(i, j int) bool { return len(t.specials[i]) > len(t.specials[j]) })
	for _, s := range cfg.NeverSplit {
		t.neverSplit[s] = true
	}
	if cfg.DoWordTokenize && cfg.WordTokenizer == "mecab" {
		if dicdir == "" {
			return nil, fmt.Errorf("bertjapanese: the MeCab word tokenizer needs a dictionary directory")
		}
		a, err := mecab.Open(dicdir)
		if err != nil {
			return nil, fmt.Errorf("bertjapanese: %w", err)
		}
		t.analyzer = a
	}
	return t, nil
}

// Close releases the MeCab dictionary.
func (t *Tokenizer) Close() error {
	if t.analyzer != nil {
		return t.analyzer.Close()
	}
	return nil
}

// Piece is the vocabulary entry of id, "" when out of range.
func (t *Tokenizer) Piece(id int32) string {
	if id < 0 || int(id) >= len(t.pieces) {
		return ""
	}
	return t.pieces[id]
}

// CLS and SEP are the ids of the pair template's specials.
func (t *Tokenizer) CLS() int32 { return t.cls }
func (t *Tokenizer) SEP() int32 { return t.sep }

// Encode returns the ids of text without the [CLS]/[SEP] template, as
// transformers' tokenize() followed by convert_tokens_to_ids.
func (t *Tokenizer) Encode(text string) []int32 {
	toks := t.tokenize(text, false)
	ids := make([]int32, len(toks))
	for i, tok := range toks {
		ids[i] = tok.ID
	}
	return ids
}

// Tokenize is Encode with each token's piece and offsets.
func (t *Tokenizer) Tokenize(text string) []Token {
	toks := t.tokenize(text, true)
	for i := range toks {
		toks[i].Piece = t.Piece(toks[i].ID)
	}
	return toks
}

// BuildInputs is BertTokenizer's template: "[CLS] a [SEP]" with token type
// 0, or "[CLS] a [SEP] b [SEP]" with type 1 from b on. b nil means a single
// sequence.
func (t *Tokenizer) BuildInputs(a, b []int32) (ids, types []int32) {
	ids = append(append(append(make([]int32, 0, len(a)+len(b)+3), t.cls), a...), t.sep)
	types = make([]int32, len(ids), cap(ids))
	if b != nil {
		ids = append(append(ids, b...), t.sep)
		for range len(b) + 1 {
			types = append(types, 1)
		}
	}
	return ids, types
}

// tokenize splits text around the special tokens written in it and runs
// the word and subword tokenizers on the rest.
func (t *Tokenizer) tokenize(text string, offsets bool) []Token {
	var out []Token
	start := 0
	for i := 0; i < len(text); i++ {
		if !t.firstByte[text[i]] {
			continue
		}
		for _, s := range t.specials {
			if strings.HasPrefix(text[i:], s) {
				out = t.words(text, start, i, offsets, out)
				out = append(out, Token{ID: t.vocab[s], Special: true, Start: i, End: i + len(s)})
				start = i + len(s)
				i = start - 1
				break
			}
		}
	}
	return t.words(text, start, len(text), offsets, out)
}

// words tokenizes text[start:end], which holds no special token.
func (t *Tokenizer) words(text string, start, end int, offsets bool, out []Token) []Token {
	if start >= end {
		return out
	}
	m := newMapped(text, start, end, offsets)
	if t.cfg.DoLowerCase {
		// PreTrainedTokenizer.tokenize lowercases everything but the
		// specials before the word tokenizer sees it.
		m = m.lower()
	}
	var words []mapped
	switch {
	case !t.cfg.DoWordTokenize:
		words = []mapped{m}
	case t.analyzer != nil:
		words = t.mecabWords(m)
	default:
		words = t.basicWords(m)
	}
	for _, w := range words {
		out = t.subword(w, out)
	}
	return out
}

func (t *Tokenizer) id(piece string) int32 {
	if id, ok := t.vocab[piece]; ok {
		return id
	}
	return t.unk
}

func (t *Tokenizer) unkToken(w mapped, start, end int) Token {
	s, e := w.span(start, end)
	return Token{ID: t.unk, Start: s, End: e}
}
