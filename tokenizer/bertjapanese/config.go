package bertjapanese

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Config is the part of a BertJapaneseTokenizer's tokenizer_config.json
// that decides token ids. Its zero value is not useful: ParseConfig fills
// transformers' defaults.
type Config struct {
	// WordTokenizer is "mecab" or "basic" (transformers' default);
	// SubwordTokenizer is "wordpiece" (the default) or "character".
	WordTokenizer    string
	SubwordTokenizer string
	DoWordTokenize   bool
	DoSubword        bool
	DoLowerCase      bool
	// NeverSplit are words the word tokenizers neither lowercase nor (basic)
	// split on punctuation.
	NeverSplit []string
	// MecabDic is mecab_kwargs.mecab_dic: "unidic_lite", "unidic", "ipadic"
	// (MecabTokenizer's default when mecab_kwargs omits it), or "" for a
	// JSON null, which means MeCab's own default dictionary or mecab_option's
	// -d. MecabOption is mecab_kwargs.mecab_option.
	MecabDic    string
	MecabOption string
	// NormalizeText is mecab_kwargs.normalize_text: NFKC before MeCab.
	NormalizeText bool
	// The special tokens' text. Specials also lists every token that is cut
	// out of the text before word tokenization: these and
	// additional_special_tokens.
	UnkToken, SepToken, PadToken, CLSToken, MaskToken string
	Specials                                          []string
}

// ParseConfig reads tokenizer_config.json (the GGUF key
// rerankapi.tokenizer.config holds a copy). It refuses what this package
// does not implement rather than tokenize differently.
func ParseConfig(data []byte) (Config, error) {
	var raw struct {
		Class            string            `json:"tokenizer_class"`
		WordTokenizer    *string           `json:"word_tokenizer_type"`
		SubwordTokenizer *string           `json:"subword_tokenizer_type"`
		DoWordTokenize   *bool             `json:"do_word_tokenize"`
		DoSubword        *bool             `json:"do_subword_tokenize"`
		DoLowerCase      *bool             `json:"do_lower_case"`
		NeverSplit       []string          `json:"never_split"`
		MecabKwargs      map[string]any    `json:"mecab_kwargs"`
		UnkToken         json.RawMessage   `json:"unk_token"`
		SepToken         json.RawMessage   `json:"sep_token"`
		PadToken         json.RawMessage   `json:"pad_token"`
		CLSToken         json.RawMessage   `json:"cls_token"`
		MaskToken        json.RawMessage   `json:"mask_token"`
		Additional       []json.RawMessage `json:"additional_special_tokens"`
		// AddedTokens (transformers >= 4.34) lists every added token by
		// id; all of them are cut out of the text like the specials.
		AddedTokens map[string]json.RawMessage `json:"added_tokens_decoder"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return Config{}, fmt.Errorf("bertjapanese: tokenizer_config.json: %w", err)
	}
	if raw.Class != "" && raw.Class != "BertJapaneseTokenizer" {
		return Config{}, fmt.Errorf("bertjapanese: tokenizer_class is %q, not BertJapaneseTokenizer", raw.Class)
	}
	c := Config{
		WordTokenizer: orString(raw.WordTokenizer, "basic"), SubwordTokenizer: orString(raw.SubwordTokenizer, "wordpiece"),
		DoWordTokenize: orBool(raw.DoWordTokenize, true), DoSubword: orBool(raw.DoSubword, true),
		DoLowerCase: orBool(raw.DoLowerCase, false), NeverSplit: raw.NeverSplit,
		MecabDic: "ipadic", NormalizeText: true,
	}
	if err := c.readMecabKwargs(raw.MecabKwargs); err != nil {
		return Config{}, err
	}
	var err error
	for _, s := range []struct {
		dst  *string
		raw  json.RawMessage
		def  string
		name string
	}{
		{&c.UnkToken, raw.UnkToken, "[UNK]", "unk_token"}, {&c.SepToken, raw.SepToken, "[SEP]", "sep_token"},
		{&c.PadToken, raw.PadToken, "[PAD]", "pad_token"}, {&c.CLSToken, raw.CLSToken, "[CLS]", "cls_token"},
		{&c.MaskToken, raw.MaskToken, "[MASK]", "mask_token"},
	} {
		if *s.dst, err = tokenText(s.raw, s.def); err != nil {
			return Config{}, fmt.Errorf("bertjapanese: %s: %w", s.name, err)
		}
		c.Specials = append(c.Specials, *s.dst)
	}
	for _, a := range append(raw.Additional, slices.Collect(maps.Values(raw.AddedTokens))...) {
		tok, err := tokenText(a, "")
		if err != nil {
			return Config{}, fmt.Errorf("bertjapanese: additional_special_tokens or added_tokens_decoder: %w", err)
		}
		if tok != "" {
			c.Specials = append(c.Specials, tok)
		}
	}
	switch {
	case c.DoWordTokenize && c.WordTokenizer != "mecab" && c.WordTokenizer != "basic":
		return Config{}, fmt.Errorf("bertjapanese: word_tokenizer_type %q is not supported (mecab and basic are)", c.WordTokenizer)
	case c.DoSubword && c.SubwordTokenizer != "wordpiece" && c.SubwordTokenizer != "character":
		return Config{}, fmt.Errorf("bertjapanese: subword_tokenizer_type %q is not supported (wordpiece and character are)", c.SubwordTokenizer)
	}
	return c, nil
}

func (c *Config) readMecabKwargs(kw map[string]any) error {
	for k, v := range kw {
		switch k {
		case "mecab_dic":
			switch d := v.(type) {
			case nil:
				c.MecabDic = ""
			case string:
				if d != "unidic_lite" && d != "unidic" && d != "ipadic" {
					// transformers raises "Invalid mecab_dic is specified."
					return fmt.Errorf("bertjapanese: mecab_dic %q: want unidic_lite, unidic, ipadic or null", d)
				}
				c.MecabDic = d
			default:
				return fmt.Errorf("bertjapanese: mecab_dic must be a string or null")
			}
		case "mecab_option":
			if s, ok := v.(string); ok {
				c.MecabOption = s
			}
		case "normalize_text":
			if b, ok := v.(bool); ok {
				c.NormalizeText = b
			}
		default:
			return fmt.Errorf("bertjapanese: mecab_kwargs.%s is not supported", k)
		}
	}
	return nil
}

// tokenText reads a special token written as a string or as a serialized
// AddedToken ({"content": "[UNK]", ...}); def when absent or null.
func tokenText(raw json.RawMessage, def string) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return def, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var added struct {
		Content *string `json:"content"`
	}
	if json.Unmarshal(raw, &added) == nil && added.Content != nil {
		return *added.Content, nil
	}
	return "", errors.New("want a string or an object with content")
}

// optionDicdir is the directory given by mecab_option's -d / --dicdir, as
// MeCab parses its command line; "" when none. A user dictionary (-u)
// would change segmentation and is refused.
func optionDicdir(option string) (string, error) {
	fields := strings.Fields(option)
	dir := ""
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		switch {
		case f == "-d" || f == "--dicdir":
			if i+1 < len(fields) {
				dir = strings.Trim(fields[i+1], `"'`)
				i++
			}
		case strings.HasPrefix(f, "--dicdir="):
			dir = strings.Trim(strings.TrimPrefix(f, "--dicdir="), `"'`)
		case strings.HasPrefix(f, "-d"):
			dir = strings.Trim(f[2:], `"'`)
		case strings.HasPrefix(f, "-u") || strings.HasPrefix(f, "--userdic"):
			return "", fmt.Errorf("bertjapanese: mecab_option %q: user dictionaries are not supported", option)
		}
	}
	return dir, nil
}

func orString(p *string, def string) string {
	if p == nil {
		return def
	}
	return *p
}

func orBool(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}
