package vocab

import (
	"encoding/json"
	"fmt"
	"os"
)

// tokenizerJSON is the part of a Hugging Face tokenizers file
// (tokenizer.json) that decides llama.cpp's vocabulary.
type tokenizerJSON struct {
	AddedTokens   []addedToken `json:"added_tokens"`
	Normalizer    *component   `json:"normalizer"`
	PreTokenizer  *component   `json:"pre_tokenizer"`
	PostProcessor *component   `json:"post_processor"`
	Decoder       *component   `json:"decoder"`
	Model         struct {
		Type string `json:"type"`
		// WordPiece and BPE: {"token": id}; Unigram: [["piece", score]].
		Vocab                   json.RawMessage `json:"vocab"`
		UnkToken                string          `json:"unk_token"` // WordPiece, BPE
		UnkID                   *int            `json:"unk_id"`    // Unigram
		ContinuingSubwordPrefix string          `json:"continuing_subword_prefix"`
		ByteFallback            bool            `json:"byte_fallback"`
		// BPE: ["a b", ...] or, since tokenizers 0.20, [["a", "b"], ...].
		Merges []json.RawMessage `json:"merges"`
	} `json:"model"`
}

// component is a normalizer, pre-tokenizer or post-processor: one struct
// holds the fields of every type this package reads.
type component struct {
	Type string `json:"type"`
	// Sequence members.
	Normalizers   []component `json:"normalizers"`
	Pretokenizers []component `json:"pretokenizers"`
	Processors    []component `json:"processors"`
	Decoders      []component `json:"decoders"`

	Lowercase           *bool  `json:"lowercase"`            // BertNormalizer
	PrecompiledCharsmap []byte `json:"precompiled_charsmap"` // Precompiled (base64 in JSON)
	Pattern             struct {
		String *string `json:"String"`
		Regex  *string `json:"Regex"`
	} `json:"pattern"` // Replace
	Content        string `json:"content"`          // Replace
	Prepend        string `json:"prepend"`          // Prepend
	Replacement    string `json:"replacement"`      // Metaspace
	AddPrefixSpace *bool  `json:"add_prefix_space"` // Metaspace before tokenizers 0.19
	PrependScheme  string `json:"prepend_scheme"`   // Metaspace: always, first, never
	UseRegex       *bool  `json:"use_regex"`        // ByteLevel: split by GPT-2's expression first
	// TemplateProcessing: [{"SpecialToken": {"id": "[CLS]"}}, {"Sequence": ...}].
	Single []struct {
		SpecialToken *struct {
			ID string `json:"id"`
		} `json:"SpecialToken"`
	} `json:"single"`
	// BertProcessing, RobertaProcessing: ["[CLS]", 101].
	CLS []json.RawMessage `json:"cls"`
	SEP []json.RawMessage `json:"sep"`
}

// walk calls fn for c and, depth first, every member of a Sequence.
func (c *component) walk(fn func(*component)) {
	if c == nil {
		return
	}
	fn(c)
	for _, list := range [][]component{c.Normalizers, c.Pretokenizers, c.Processors, c.Decoders} {
		for i := range list {
			list[i].walk(fn)
		}
	}
}

// has reports whether c or a member of it is of type typ.
func (c *component) has(typ string) bool {
	found := false
	c.walk(func(m *component) { found = found || m.Type == typ })
	return found
}

func fromTokenizerJSON(path string, cfg *hfConfig) (*Vocab, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("vocab: %w", err)
	}
	var t tokenizerJSON
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("vocab: %s: %w", path, err)
	}
	var v *Vocab
	switch t.Model.Type {
	case "WordPiece":
		v, err = t.wordPiece(cfg)
	case "Unigram":
		v, err = t.unigram(cfg)
	case "BPE":
		v, err = t.bpe(cfg)
	default:
		err = fmt.Errorf("model type %q is not supported (want WordPiece, Unigram or SentencePiece-style BPE)", t.Model.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("vocab: %s: %w", path, err)
	}
	return v, nil
}

func (t *tokenizerJSON) wordPiece(cfg *hfConfig) (*Vocab, error) {
	var ids map[string]int
	if err := json.Unmarshal(t.Model.Vocab, &ids); err != nil {
		return nil, fmt.Errorf("WordPiece vocab: %w", err)
	}
	tokens, err := tokensByID(ids, t.AddedTokens)
	if err != nil {
		return nil, err
	}
	// The fast tokenizer lowercases only if its normalizer says so.
	lowercase := false
	t.Normalizer.walk(func(c *component) {
		switch {
		case c.Type == "BertNormalizer" && c.Lowercase != nil:
			lowercase = *c.Lowercase
		case c.Type == "BertNormalizer", c.Type == "Lowercase":
			lowercase = true
		}
	})
	if t.Model.UnkToken != "" {
		if _, ok := cfg.roles["unk_token"]; !ok {
			cfg.roles["unk_token"] = t.Model.UnkToken
		}
	}
	prefix := t.Model.ContinuingSubwordPrefix
	if prefix == "" {
		prefix = "##"
	}
	return wordPiece(tokens, prefix, lowercase, cfg, t.AddedTokens), nil
}

// tokensByID lays out a token → id map, with the added tokens (which may
// extend it), as a list indexed by id.
func tokensByID(ids map[string]int, added []addedToken) ([]string, error) {
	n := 0
	for _, id := range ids {
		n = max(n, id+1)
	}
	for _, t := range added {
		n = max(n, t.ID+1)
	}
	// Ids run from 0 without gaps, so an id past the number of tokens
	// leaves one out: say which before the id sizes the list.
	if n > len(ids)+len(added) {
		have := make(map[int]bool, len(ids)+len(added))
		for _, id := range ids {
			have[id] = true
		}
		for _, t := range added {
			have[t.ID] = true
		}
		missing := 0
		for have[missing] {
			missing++
		}
		return nil, fmt.Errorf("no token has id %d (ids must run from 0 to %d)", missing, n-1)
	}
	tokens := make([]string, n)
	for tok, id := range ids {
		if id < 0 {
			return nil, fmt.Errorf("token %q has negative id %d", tok, id)
		}
		if tokens[id] != "" {
			return nil, fmt.Errorf("tokens %q and %q share id %d", tokens[id], tok, id)
		}
		tokens[id] = tok
	}
	for _, t := range added {
		if t.ID >= 0 {
			tokens[t.ID] = t.Content
		}
	}
	for id, tok := range tokens {
		if tok == "" {
			return nil, fmt.Errorf("no token has id %d (ids must run from 0 to %d)", id, n-1)
		}
	}
	return tokens, nil
}

// template returns the special tokens the post-processor puts before and
// after a single text ("" where it adds none).
func (t *tokenizerJSON) template() (first, last string) {
	t.PostProcessor.walk(func(c *component) {
		switch c.Type {
		case "TemplateProcessing":
			if n := len(c.Single); n > 0 {
				if s := c.Single[0].SpecialToken; s != nil {
					first = s.ID
				}
				if s := c.Single[n-1].SpecialToken; s != nil {
					last = s.ID
				}
			}
		case "BertProcessing", "RobertaProcessing":
			if len(c.CLS) > 0 && len(c.SEP) > 0 {
				_ = json.Unmarshal(c.CLS[0], &first)
				_ = json.Unmarshal(c.SEP[0], &last)
			}
		}
	})
	return first, last
}
