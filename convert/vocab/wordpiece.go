package vocab

import (
	"fmt"
	"os"
	"strings"
)

// phantomSpace is U+2581, the word-start mark of llama.cpp's WPM vocabulary.
const phantomSpace = "\u2581"

// wpmDefaults are BERT's special tokens when no side file names them.
var wpmDefaults = map[string]string{
	"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]",
}

// fromVocabTxt reads BERT's vocab.txt: one token per line, the line number
// being its id. As transformers does, only the newline is stripped.
func fromVocabTxt(path string, cfg *hfConfig) (*Vocab, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("vocab: %w", err)
	}
	tokens := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	// BertTokenizer lowercases unless told otherwise; BertJapaneseTokenizer
	// does not.
	lowercase := !strings.HasPrefix(cfg.class, "BertJapanese")
	if cfg.lowercase != nil {
		lowercase = *cfg.lowercase
	}
	return wordPiece(tokens, "##", lowercase, cfg, cfg.added), nil
}

// wordPiece builds llama.cpp's WPM vocabulary from WordPiece tokens in id
// order. llama.cpp looks words up with a "▁" prepended and matches
// continuation pieces without their prefix, so the tokens are rewritten
// into that "phantom space" form: "the" → "▁the", "##ing" → "ing". Special
// and added tokens, and bracketed ones such as [unused0] (as
// convert_hf_to_gguf.py does), keep their text.
func wordPiece(tokens []string, prefix string, lowercase bool, cfg *hfConfig, added []addedToken) *Vocab {
	v := noSpecials(ModelWPM)
	v.Tokens = tokens
	v.Types = make([]int32, len(tokens))
	for i := range v.Types {
		v.Types[i] = TypeNormal
	}
	v.applyAdded(added)
	v.setSpecials(cfg, wpmDefaults)
	// llama.cpp's WPM prepends BOS where BERT prepends [CLS], and appends
	// SEP; it never adds EOS.
	v.BOS = v.CLS
	v.AddBOS, v.AddSEP = true, true
	v.Lowercase = lowercase
	for i, tok := range tokens {
		if tok == "" {
			// An empty line of vocab.txt (cl-tohoku's Japanese vocabularies
			// have one) is a token no text produces. Its phantom form "▁"
			// would match, so it gets the placeholder llama.cpp itself
			// gives empty tokens.
			v.Tokens[i], v.Types[i] = fmt.Sprintf("[EMPTY_%d]", i), TypeUnused
			continue
		}
		v.Tokens[i] = phantomForm(tok, v.Types[i], prefix)
	}
	if !lowercase {
		v.warnf("the tokenizer is cased (do_lower_case=false) but llama.cpp's WPM tokenizer always lowercases: text with capitals tokenizes differently; tokenize in Go and pass ids")
	}
	if strings.HasPrefix(cfg.class, "BertJapanese") {
		v.warnf("%s splits words with MeCab before WordPiece, which llama.cpp cannot do (it also strips voicing marks and splits kanji one by one): tokenize in Go and pass ids", cfg.class)
	}
	return v
}

func phantomForm(tok string, typ int32, prefix string) string {
	switch {
	case typ == TypeControl || typ == TypeUserDefined || isBracketed(tok):
		return tok
	case strings.HasPrefix(tok, prefix) && len(tok) > len(prefix):
		return tok[len(prefix):]
	}
	return phantomSpace + tok
}

// isBracketed reports whether tok looks like BERT's [CLS] or [unused3].
func isBracketed(tok string) bool {
	return len(tok) >= 2 && strings.HasPrefix(tok, "[") && strings.HasSuffix(tok, "]")
}

// WordPieceTokens recovers vocab.txt from a WPM vocabulary in llama.cpp's
// phantom-space form (tokenizer.ggml.tokens and token_type of a GGUF), for
// tokenizers that run in Go on a GGUF's vocabulary: "▁word" → "word",
// "piece" → "##piece", special, added and bracketed tokens as they are,
// and an empty line's "[EMPTY_n]" placeholder back to "". It undoes
// wordPiece exactly, except that a "##[x]" continuation comes back as
// "[x]"; cl-tohoku's Japanese and BERT's vocabularies have none.
func WordPieceTokens(tokens []string, types []int32) []string {
	out := make([]string, len(tokens))
	for i, tok := range tokens {
		typ := TypeNormal
		if i < len(types) {
			typ = types[i]
		}
		switch {
		case typ == TypeUnused && tok == fmt.Sprintf("[EMPTY_%d]", i):
			out[i] = ""
		case typ == TypeControl || typ == TypeUserDefined || isBracketed(tok):
			out[i] = tok
		case strings.HasPrefix(tok, phantomSpace):
			out[i] = tok[len(phantomSpace):]
		default:
			out[i] = "##" + tok
		}
	}
	return out
}
