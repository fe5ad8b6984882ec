package bertjapanese

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// maxWordChars is WordpieceTokenizer's max_input_chars_per_word: a longer
// word is one [UNK].
const maxWordChars = 100

// slice is s[start:end] with its origins.
func (m mapped) slice(start, end int) mapped {
	out := mapped{s: m.s[start:end]}
	if m.tracked() {
		out.from, out.to = m.from[start:end], m.to[start:end]
	}
	return out
}

// mecabWords is MecabTokenizer.tokenize: NFKC, MeCab's surfaces, each
// lowercased with do_lower_case unless never_split lists it.
func (t *Tokenizer) mecabWords(m mapped) []mapped {
	if t.cfg.NormalizeText {
		m = m.normalize(norm.NFKC)
	}
	toks := t.analyzer.Analyze(m.s)
	words := make([]mapped, 0, len(toks))
	for _, tok := range toks {
		w := m.slice(tok.Start, tok.End)
		if t.cfg.DoLowerCase && !t.neverSplit[w.s] {
			w = w.lower()
		}
		words = append(words, w)
	}
	return words
}

// basicWords is BERT's BasicTokenizer as BertJapaneseTokenizer builds it
// (tokenize_chinese_chars=False, strip_accents unset): clean the text, NFC,
// split on whitespace, lowercase and strip accents with do_lower_case, and
// split off punctuation; never_split words are left whole.
func (t *Tokenizer) basicWords(m mapped) []mapped {
	m = m.mapRunes(cleanRune).normalize(norm.NFC)
	var words []mapped
	for _, f := range m.fields(0, len(m.s)) {
		w := m.slice(f.start, f.end)
		if t.neverSplit[w.s] {
			words = append(words, w)
			continue
		}
		if t.cfg.DoLowerCase {
			w = w.lower().mapRunes(stripAccents)
			if t.neverSplit[w.s] {
				words = append(words, w)
				continue
			}
		}
		start := 0
		for i, r := range w.s {
			if !isPunctuation(r) {
				continue
			}
			if start < i {
				words = append(words, w.slice(start, i))
			}
			_, size := utf8.DecodeRuneInString(w.s[i:]) // not RuneLen(r): see subword
			words = append(words, w.slice(i, i+size))
			start = i + size
		}
		if start < len(w.s) {
			words = append(words, w.slice(start, len(w.s)))
		}
	}
	return words
}

// cleanRune is BasicTokenizer._clean_text for one character: NUL, U+FFFD
// and control or format characters go, whitespace becomes a space.
func cleanRune(r rune) string {
	switch {
	case r == 0 || r == utf8.RuneError:
		return ""
	case r == ' ' || r == '\t' || r == '\n' || r == '\r' || unicode.Is(unicode.Zs, r):
		return " "
	case unicode.Is(unicode.C, r):
		return ""
	}
	return string(r)
}

// stripAccents is _run_strip_accents for one character: NFD without its
// nonspacing marks.
func stripAccents(r rune) string {
	d := norm.NFD.String(string(r))
	out := make([]rune, 0, 1)
	for _, c := range d {
		if !unicode.Is(unicode.Mn, c) {
			out = append(out, c)
		}
	}
	return string(out)
}

// isPunctuation is transformers' _is_punctuation: ASCII symbols count as
// punctuation even where Unicode says otherwise ("$", "^", "`").
func isPunctuation(r rune) bool {
	if r >= 33 && r <= 47 || r >= 58 && r <= 64 || r >= 91 && r <= 96 || r >= 123 && r <= 126 {
		return true
	}
	return unicode.IsPunct(r)
}

// subword splits one word into tokens with the configured subword
// tokenizer, or looks it up whole when there is none.
func (t *Tokenizer) subword(w mapped, out []Token) []Token {
	switch {
	case !t.cfg.DoSubword:
		s, e := w.span(0, len(w.s))
		return append(out, Token{ID: t.id(w.s), Start: s, End: e})
	case t.cfg.SubwordTokenizer == "character":
		// CharacterTokenizer normalizes again (its normalize_text is
		// always on) and does not split on whitespace.
		w = w.normalize(norm.NFKC)
		for i := range w.s {
			// The rune's size in the text, not utf8.RuneLen: an invalid
			// byte (the CLI passes arguments through unchecked; NFKC keeps
			// them) ranges as U+FFFD, three bytes long, but spans one.
			_, size := utf8.DecodeRuneInString(w.s[i:])
			if id, ok := t.vocab[w.s[i:i+size]]; ok {
				s, e := w.span(i, i+size)
				out = append(out, Token{ID: id, Start: s, End: e})
			} else {
				out = append(out, t.unkToken(w, i, i+size))
			}
		}
		return out
	}
	for _, f := range w.fields(0, len(w.s)) {
		out = t.wordPiece(w, f, out)
	}
	return out
}

// wordPiece is WordpieceTokenizer on one whitespace-free word f of w:
// greedy longest match first, continuations looked up with "##"; a word
// with a part no entry matches, or longer than maxWordChars, is one [UNK].
func (t *Tokenizer) wordPiece(w mapped, f piece, out []Token) []Token {
	if utf8.RuneCountInString(f.text) > maxWordChars {
		return append(out, t.unkToken(w, f.start, f.end))
	}
	n := len(out)
	for start := f.start; start < f.end; {
		end := f.end
		var id int32 = -1
		for start < end {
			var ok bool
			if start == f.start {
				id, ok = t.vocab[w.s[start:end]]
			} else {
				id, ok = t.continued[w.s[start:end]]
			}
			if ok {
				break
			}
			id = -1
			_, size := utf8.DecodeLastRuneInString(w.s[start:end])
			end -= size
		}
		if id < 0 {
			return append(out[:n], t.unkToken(w, f.start, f.end))
		}
		s, e := w.span(start, end)
		out = append(out, Token{ID: id, Start: s, End: e})
		start = end
	}
	return out
}
