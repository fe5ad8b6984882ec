package bertjapanese

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// mapped is text derived from the original by normalization steps, with,
// when offsets are wanted, the original bytes each of its bytes came from:
// byte i of s comes from original bytes [from[i], to[i]). Without offsets
// from and to are nil and each step takes its fast path.
type mapped struct {
	s        string
	from, to []int
}

func newMapped(orig string, start, end int, offsets bool) mapped {
	m := mapped{s: orig[start:end]}
	if offsets {
		m.from, m.to = make([]int, len(m.s)), make([]int, len(m.s))
		for i := 0; i < len(m.s); {
			_, size := utf8.DecodeRuneInString(m.s[i:])
			for k := range size {
				m.from[i+k], m.to[i+k] = start+i, start+i+size
			}
			i += size
		}
	}
	return m
}

func (m mapped) tracked() bool { return m.from != nil }

// span is the original range of s[start:end].
func (m mapped) span(start, end int) (int, int) {
	if !m.tracked() || start >= end {
		return -1, -1
	}
	return m.from[start], m.to[end-1]
}

// mapRunes replaces each rune by f's result (which may be empty: the rune
// is dropped), keeping every output byte's origin.
func (m mapped) mapRunes(f func(rune) string) mapped {
	if !m.tracked() {
		var b strings.Builder
		for _, r := range m.s {
			b.WriteString(f(r))
		}
		return mapped{s: b.String()}
	}
	var b strings.Builder
	out := mapped{}
	for i, r := range m.s {
		_, size := utf8.DecodeRuneInString(m.s[i:])
		rep := f(r)
		b.WriteString(rep)
		for range len(rep) {
			out.from = append(out.from, m.from[i])
			out.to = append(out.to, m.to[i+size-1])
		}
	}
	out.s = b.String()
	return out
}

// lower is Python's str.lower as far as Go can tell: rune by rune.
func (m mapped) lower() mapped {
	if !m.tracked() {
		return mapped{s: strings.ToLower(m.s)}
	}
	return m.mapRunes(func(r rune) string { return string(unicode.ToLower(r)) })
}

// normalize applies a Unicode normal form. With offsets it walks the text
// one normalization segment at a time (norm.Iter): the bytes of a segment
// all come from the original stretch the segment was made from. Without
// them it takes Form.String's fast path, except on invalid UTF-8, where
// the two disagree (String leaves "\xf5ǉ" as it is, Iter makes it
// "\xf5lj"), which made Encode and Tokenize give different tokens.
func (m mapped) normalize(f norm.Form) mapped {
	if !m.tracked() && utf8.ValidString(m.s) {
		return mapped{s: f.String(m.s)}
	}
	var it norm.Iter
	it.InitString(f, m.s)
	var b strings.Builder
	out := mapped{}
	// A long expansion ("㍿" → 株式会社) can come out over several calls
	// before the input position moves: those bytes wait in pending until
	// the stretch they came from is known.
	start, pending := 0, 0
	for !it.Done() {
		seg := it.Next()
		b.Write(seg)
		pending += len(seg)
		if end := it.Pos(); end > start && m.tracked() {
			from, to := m.span(start, end)
			for range pending {
				out.from = append(out.from, from)
				out.to = append(out.to, to)
			}
			start, pending = end, 0
		}
	}
	out.s = b.String()
	return out
}

// piece is a stretch of a mapped text that becomes one or more tokens.
type piece struct {
	text       string
	start, end int // byte range in the mapped text; -1 when untracked
}

// fields splits s[start:end] on whitespace as Python's str.split() does.
func (m mapped) fields(start, end int) []piece {
	var out []piece
	i := start
	for i < end {
		r, size := utf8.DecodeRuneInString(m.s[i:end])
		if isSpace(r) {
			i += size
			continue
		}
		j := i
		for j < end {
			r, size := utf8.DecodeRuneInString(m.s[j:end])
			if isSpace(r) {
				break
			}
			j += size
		}
		out = append(out, piece{m.s[i:j], i, j})
		i = j
	}
	return out
}

// isSpace is Python's str.isspace for one character (the whitespace of
// whitespace_tokenize): Go's unicode.IsSpace plus the information
// separators U+001C..U+001F, which Python counts as whitespace.
func isSpace(r rune) bool {
	return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f
}
