package vocab

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// spmDefaults are SentencePiece's special tokens when no side file names
// them.
var spmDefaults = map[string]string{
	"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>",
}

// unigram converts a tokenizers Unigram model, as transformers writes for
// SentencePiece unigram tokenizers (T5, XLM-RoBERTa, bge-m3), to
// llama.cpp's UGM vocabulary.
func (t *tokenizerJSON) unigram(cfg *hfConfig) (*Vocab, error) {
	var entries [][]json.RawMessage
	if err := json.Unmarshal(t.Model.Vocab, &entries); err != nil {
		return nil, fmt.Errorf("unigram vocab: %w", err)
	}
	v := noSpecials(ModelUGM)
	for i, e := range entries {
		var piece string
		var score float64
		if len(e) != 2 || json.Unmarshal(e[0], &piece) != nil || json.Unmarshal(e[1], &score) != nil {
			return nil, fmt.Errorf("unigram vocab entry %d is not [piece, score]", i)
		}
		v.Tokens = append(v.Tokens, piece)
		v.Scores = append(v.Scores, float32(score))
		v.Types = append(v.Types, pieceType(piece, t.Model.ByteFallback))
	}
	if err := v.appendAdded(t.AddedTokens); err != nil {
		return nil, err
	}
	if u := t.Model.UnkID; u != nil && *u >= 0 && *u < len(v.Tokens) {
		v.Types[*u] = TypeUnknown
		if _, ok := cfg.roles["unk_token"]; !ok {
			cfg.roles["unk_token"] = v.Tokens[*u]
		}
	}
	t.finishSentencePiece(v, cfg)
	if t.Model.ByteFallback {
		v.warnf(UGMByteFallbackWarning)
	}
	t.Normalizer.walk(func(c *component) {
		if c.Type == "Precompiled" && len(v.PrecompiledCharsmap) == 0 {
			v.PrecompiledCharsmap = c.PrecompiledCharsmap
		}
	})
	return v, nil
}

// UGMByteFallbackWarning warns that llama.cpp's UGM tokenizer never matches
// byte pieces (llama.cpp issue #28862). A converter whose engine tokenizes
// such vocabularies itself drops it.
const UGMByteFallbackWarning = "the model falls back to byte pieces for unknown characters, but llama.cpp's UGM tokenizer does not: they become <unk>"

// bpe converts a tokenizers BPE model that came from a SentencePiece BPE
// model (Llama, Mistral: "▁" word marks and byte fallback) to llama.cpp's
// SPM vocabulary; byte-level BPE (GPT-2, Qwen) goes to byteLevel.
func (t *tokenizerJSON) bpe(cfg *hfConfig) (*Vocab, error) {
	var ids map[string]int
	if err := json.Unmarshal(t.Model.Vocab, &ids); err != nil {
		return nil, fmt.Errorf("BPE vocab: %w", err)
	}
	if !t.Model.ByteFallback && !t.escapesSpaces() {
		if t.isByteLevel() {
			return t.byteLevel(cfg, ids) // bytelevel.go
		}
		return nil, errors.New("BPE without byte fallback, \"▁\" word marks or a ByteLevel pre-tokenizer is not supported")
	}
	tokens, err := tokensByID(ids, t.AddedTokens)
	if err != nil {
		return nil, err
	}
	// llama.cpp's SPM merges the adjacent pair whose joined text has the
	// highest score; tokenizers merges the pair of lowest rank. So the
	// product of merge r scores -r, and tokens no merge produces score
	// below every merge.
	v := noSpecials(ModelSPM)
	v.Tokens = tokens
	v.Scores = make([]float32, len(tokens))
	v.Types = make([]int32, len(tokens))
	rank := make(map[string]int, len(t.Model.Merges))
	for r, raw := range t.Model.Merges {
		a, b, err := parseMerge(raw)
		if err != nil {
			return nil, fmt.Errorf("merge %d: %w", r, err)
		}
		if _, seen := rank[a+b]; !seen {
			rank[a+b] = r
		}
	}
	for i, tok := range tokens {
		v.Types[i] = pieceType(tok, t.Model.ByteFallback)
		v.Scores[i] = -float32(len(t.Model.Merges) + 1)
		if r, ok := rank[tok]; ok {
			v.Scores[i] = -float32(r)
		}
	}
	if u, ok := ids[t.Model.UnkToken]; ok {
		v.Types[u] = TypeUnknown
	}
	t.finishSentencePiece(v, cfg)
	return v, nil
}

func parseMerge(raw json.RawMessage) (a, b string, err error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		var ok bool
		if a, b, ok = strings.Cut(s, " "); ok {
			return a, b, nil
		}
		return "", "", fmt.Errorf("%q is not two tokens separated by a space", s)
	}
	var pair []string
	if json.Unmarshal(raw, &pair) == nil && len(pair) == 2 {
		return pair[0], pair[1], nil
	}
	return "", "", fmt.Errorf("%s is neither \"a b\" nor [\"a\", \"b\"]", raw)
}

// pieceType is the type of a SentencePiece piece before special tokens are
// known: <0x41>-style pieces are bytes when the model falls back to them.
func pieceType(piece string, byteFallback bool) int32 {
	if byteFallback && bytePiece.MatchString(piece) {
		return TypeByte
	}
	return TypeNormal
}

var bytePiece = regexp.MustCompile(`^<0x[0-9A-F]{2}>$`)

// finishSentencePiece sets what UGM and SPM vocabularies from tokenizer.json
// share: special tokens, what the post-processor adds, and the
// SentencePiece normalization flags the normalizer and pre-tokenizer imply.
func (t *tokenizerJSON) finishSentencePiece(v *Vocab, cfg *hfConfig) {
	v.applyAdded(t.AddedTokens)
	v.setSpecials(cfg, spmDefaults)
	idx := v.index()
	first, last := t.template()
	if id, ok := idx[first]; ok {
		v.BOS, v.AddBOS = id, true
	}
	if id, ok := idx[last]; ok {
		v.EOS, v.AddEOS = id, true
	}
	// A text wrapped on both sides is the "CLS text SEP" shape of
	// (XLM-)RoBERTa, whose pairs the backend builds from these ids.
	if v.AddBOS && v.AddEOS {
		if v.CLS < 0 {
			v.CLS = v.BOS
		}
		if v.SEP < 0 {
			v.SEP = v.EOS
		}
	}
	// transformers rebuilds the post-processor of Llama-style tokenizers
	// from these flags.
	if cfg.addBOS != nil {
		v.AddBOS = *cfg.addBOS && v.BOS >= 0
	}
	if cfg.addEOS != nil {
		v.AddEOS = *cfg.addEOS && v.EOS >= 0
	}
	v.AddSpacePrefix = t.addsSpacePrefix()
	v.RemoveExtraWhitespaces = t.removesExtraWhitespaces()
	t.Normalizer.walk(func(c *component) {
		switch c.Type {
		case "Sequence", "Precompiled", "Replace", "Prepend", "Strip":
		default:
			v.warnf("llama.cpp cannot apply the %s normalizer: text it changes tokenizes differently", c.Type)
		}
	})
	t.PreTokenizer.walk(func(c *component) {
		switch c.Type {
		case "Sequence", "Metaspace", "WhitespaceSplit":
		default:
			v.warnf("llama.cpp cannot apply the %s pre-tokenizer: text it splits tokenizes differently", c.Type)
		}
	})
}

// addsSpacePrefix reports whether "▁" is put before the text, by a
// Metaspace pre-tokenizer or, in older Llama files, a Prepend normalizer.
func (t *tokenizerJSON) addsSpacePrefix() bool {
	prefix := false
	t.PreTokenizer.walk(func(c *component) {
		if c.Type != "Metaspace" {
			return
		}
		switch {
		case c.AddPrefixSpace != nil:
			prefix = *c.AddPrefixSpace
		default: // prepend_scheme: always (the default), first or never
			prefix = c.PrependScheme != "never"
		}
	})
	t.Normalizer.walk(func(c *component) {
		prefix = prefix || (c.Type == "Prepend" && c.Prepend == phantomSpace)
	})
	return prefix
}

// escapesSpaces reports whether spaces become "▁" before the model runs.
func (t *tokenizerJSON) escapesSpaces() bool {
	found := t.PreTokenizer.has("Metaspace")
	t.Normalizer.walk(func(c *component) {
		found = found || (c.Type == "Replace" && c.Pattern.String != nil && *c.Pattern.String == " " && c.Content == phantomSpace)
	})
	return found
}

// removesExtraWhitespaces reports SentencePiece's remove_extra_whitespaces:
// transformers' converter writes it as a Replace of " {2,}", and T5's files
// split on whitespace, which drops the extra spaces too.
func (t *tokenizerJSON) removesExtraWhitespaces() bool {
	found := t.PreTokenizer.has("WhitespaceSplit")
	t.Normalizer.walk(func(c *component) {
		found = found || (c.Type == "Replace" && c.Pattern.Regex != nil && *c.Pattern.Regex == " {2,}")
	})
	return found
}
