package vocab

import (
	"fmt"
	"strings"
)

// Byte-level BPE (GPT-2's scheme, which Qwen2 and Qwen3 use): every byte of
// the text is first mapped to a printable character (ByteToUnicode), the
// pre-tokenizer splits the text with a regular expression, and merges
// join adjacent pieces by rank. llama.cpp calls this vocabulary "gpt2" and
// picks the splitting expression by the name in tokenizer.ggml.pre.

// preTokenizers maps the splitting expressions of tokenizer.json's Split
// pre-tokenizers to the tokenizer.ggml.pre names whose expression
// llama.cpp's llama-vocab.cpp uses for them. llama.cpp knows a pre-tokenizer
// by name only, so an expression not listed here cannot convert exactly.
var preTokenizers = map[string]string{
	// Qwen2, Qwen2.5 and Qwen3 (tokenizer.json's own spelling).
	`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`: "qwen2",
}

// gpt2Pre names the expression a ByteLevel pre-tokenizer with use_regex
// applies by itself: GPT-2's, llama.cpp's "gpt-2".
const gpt2Pre = "gpt-2"

// byteLevel converts a tokenizers BPE model over byte-level characters to
// llama.cpp's BPE vocabulary: the tokens as they are (llama.cpp maps bytes
// to the same characters), the merges in rank order, and the pre-tokenizer
// by name. A normalizer other than NFC is refused: llama.cpp applies none,
// and NFC changes nothing in text that is already NFC, as nearly all is.
func (t *tokenizerJSON) byteLevel(cfg *hfConfig, ids map[string]int) (*Vocab, error) {
	tokens, err := tokensByID(ids, t.AddedTokens)
	if err != nil {
		return nil, err
	}
	pre, err := t.bytePreTokenizer()
	if err != nil {
		return nil, err
	}
	var bad error
	t.Normalizer.walk(func(c *component) {
		if c.Type != "Sequence" && c.Type != "NFC" && bad == nil {
			bad = fmt.Errorf("the %s normalizer of a byte-level BPE tokenizer is not supported: llama.cpp applies no normalizer", c.Type)
		}
	})
	if bad != nil {
		return nil, bad
	}
	v := noSpecials(ModelBPE)
	v.Tokens, v.Pre = tokens, pre
	v.Types = make([]int32, len(tokens))
	for i := range v.Types {
		v.Types[i] = TypeNormal
	}
	for r, raw := range t.Model.Merges {
		a, b, err := parseMerge(raw)
		if err != nil {
			return nil, fmt.Errorf("merge %d: %w", r, err)
		}
		// llama.cpp splits a merge at its first space after the first
		// byte; byte-level pieces never contain a space (it is "Ġ").
		v.Merges = append(v.Merges, a+" "+b)
	}
	v.applyAdded(t.AddedTokens)
	v.setSpecials(cfg, nil)
	if _, last := t.template(); last != "" {
		if id, ok := v.index()[last]; ok {
			v.EOS, v.AddEOS = id, true
		}
	}
	if cfg.addEOS != nil {
		v.AddEOS = *cfg.addEOS && v.EOS >= 0
	}
	v.AddBOS = cfg.addBOS != nil && *cfg.addBOS && v.BOS >= 0
	return v, nil
}

// bytePreTokenizer names the pre-tokenizer of a byte-level tokenizer:
// a Split by a known expression followed by ByteLevel without its own
// regex (Qwen2), or a ByteLevel with it (GPT-2).
func (t *tokenizerJSON) bytePreTokenizer() (string, error) {
	var split *string
	useRegex := false
	t.PreTokenizer.walk(func(c *component) {
		switch c.Type {
		case "Split":
			split = c.Pattern.Regex
		case "ByteLevel":
			useRegex = c.UseRegex == nil || *c.UseRegex
		}
	})
	switch {
	case split != nil:
		if name, ok := preTokenizers[*split]; ok && !useRegex {
			return name, nil
		}
		return "", fmt.Errorf("the pre-tokenizer splits by %q, which llama.cpp has no name for (known: Qwen2's)", *split)
	case useRegex:
		return gpt2Pre, nil
	}
	return "", fmt.Errorf("byte-level BPE without a ByteLevel or Split pre-tokenizer is not supported")
}

// isByteLevel reports whether the BPE model works on GPT-2's byte-level
// characters: its pre-tokenizer or decoder is ByteLevel.
func (t *tokenizerJSON) isByteLevel() bool {
	return t.PreTokenizer.has("ByteLevel") || t.Decoder.has("ByteLevel")
}

// ByteToUnicode is GPT-2's bytes_to_unicode: printable Latin-1 bytes stand
// for themselves, the others (control characters, space, ...) for the
// characters from U+0100 up, in byte order. Byte-level vocabularies spell
// their tokens with these characters: a space is "Ġ", a newline "Ċ".
func ByteToUnicode() [256]rune {
	var table [256]rune
	n := 0
	for b := range 256 {
		if b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE {
			table[b] = rune(b)
			continue
		}
		table[b] = rune(256 + n)
		n++
	}
	return table
}

// ByteLevelText spells text with ByteToUnicode's characters, as byte-level
// tokens are spelt.
func ByteLevelText(text string) string {
	table := ByteToUnicode()
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		b.WriteRune(table[text[i]])
	}
	return b.String()
}
