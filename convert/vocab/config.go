package vocab

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// hfConfig is what the side files of a Hugging Face model directory say
// about its tokenizer: tokenizer_config.json, special_tokens_map.json (which
// wins over tokenizer_config.json, as in transformers) and config.json.
type hfConfig struct {
	class      string            // tokenizer_class, e.g. "XLMRobertaTokenizer"
	lowercase  *bool             // do_lower_case
	roles      map[string]string // "bos_token", "cls_token", ... → token text
	additional []string          // additional_special_tokens
	added      []addedToken      // added_tokens_decoder
	addBOS     *bool             // add_bos_token
	addEOS     *bool             // add_eos_token

	vocabSize int // config.json vocab_size: rows of the embedding matrix
}

// addedToken is an entry of tokenizer.json's added_tokens or
// tokenizer_config.json's added_tokens_decoder.
type addedToken struct {
	ID      int    `json:"id"`
	Content string `json:"content"`
	Special bool   `json:"special"`
}

// roleNames are the special-token roles of transformers' tokenizers.
var roleNames = []string{"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"}

func readConfigs(dir string) (*hfConfig, error) {
	cfg := &hfConfig{roles: map[string]string{}}
	var tc map[string]json.RawMessage
	if err := readJSON(filepath.Join(dir, "tokenizer_config.json"), &tc); err != nil {
		return nil, err
	}
	cfg.apply(tc)
	_ = json.Unmarshal(tc["tokenizer_class"], &cfg.class)
	cfg.lowercase = jsonBool(tc["do_lower_case"])
	cfg.addBOS = jsonBool(tc["add_bos_token"])
	cfg.addEOS = jsonBool(tc["add_eos_token"])
	var decoder map[string]addedToken
	if json.Unmarshal(tc["added_tokens_decoder"], &decoder) == nil {
		for id, t := range decoder {
			if n, err := strconv.Atoi(id); err == nil {
				t.ID = n
				cfg.added = append(cfg.added, t)
			}
		}
	}
	var stm map[string]json.RawMessage
	if err := readJSON(filepath.Join(dir, "special_tokens_map.json"), &stm); err != nil {
		return nil, err
	}
	cfg.apply(stm)
	var model struct {
		VocabSize int `json:"vocab_size"`
	}
	if err := readJSON(filepath.Join(dir, "config.json"), &model); err != nil {
		return nil, err
	}
	cfg.vocabSize = model.VocabSize
	return cfg, nil
}

// apply takes the special tokens of one side file, overriding earlier ones.
func (c *hfConfig) apply(m map[string]json.RawMessage) {
	for _, role := range roleNames {
		if tok, ok := tokenText(m[role]); ok {
			c.roles[role] = tok
		}
	}
	var extra []json.RawMessage
	if json.Unmarshal(m["additional_special_tokens"], &extra) == nil && len(extra) > 0 {
		c.additional = c.additional[:0]
		for _, raw := range extra {
			if tok, ok := tokenText(raw); ok {
				c.additional = append(c.additional, tok)
			}
		}
	}
}

// tokenText reads a special token, written either as a string or as a
// serialized AddedToken object {"content": ...}.
func tokenText(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil && s != "" {
		return s, true
	}
	var obj struct {
		Content string `json:"content"`
	}
	if json.Unmarshal(raw, &obj) == nil && obj.Content != "" {
		return obj.Content, true
	}
	return "", false
}

func jsonBool(raw json.RawMessage) *bool {
	var b bool
	if json.Unmarshal(raw, &b) != nil {
		return nil
	}
	return &b
}

// readJSON decodes path into v; a missing file leaves v unchanged.
func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("vocab: %w", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("vocab: %s: %w", path, err)
	}
	return nil
}

// setSpecials resolves the special-token roles to ids: the side files'
// names first, then the tokenizer family's conventional names (defaults),
// skipping names the vocabulary lacks. Special tokens become control
// tokens, so llama.cpp matches them in text only with parse_special.
func (v *Vocab) setSpecials(cfg *hfConfig, defaults map[string]string) {
	fields := map[string]*int32{
		"bos_token": &v.BOS, "eos_token": &v.EOS, "unk_token": &v.UNK, "sep_token": &v.SEP,
		"pad_token": &v.PAD, "cls_token": &v.CLS, "mask_token": &v.MASK,
	}
	idx := v.index()
	for _, role := range roleNames {
		name, fromConfig := cfg.roles[role]
		if !fromConfig {
			name = defaults[role]
		}
		if name == "" {
			continue
		}
		id, ok := idx[name]
		switch {
		case ok:
			*fields[role] = id
			v.markControl(id)
		case fromConfig:
			v.warnf("%s %q is not in the vocabulary", role, name)
		}
	}
	for _, name := range cfg.additional {
		if id, ok := idx[name]; ok {
			v.markControl(id)
		}
	}
}

// markControl types a special token as control unless its source already
// gave it a more specific type (unknown, byte, ...).
func (v *Vocab) markControl(id int32) {
	if v.Types[id] == TypeNormal {
		v.Types[id] = TypeControl
	}
}

// applyAdded types the tokens a tokenizer added to its model's vocabulary:
// special ones are control tokens, the others user-defined, which llama.cpp
// matches in raw text before tokenizing the rest, as transformers does.
func (v *Vocab) applyAdded(added []addedToken) {
	for _, t := range added {
		if t.ID < 0 || t.ID >= len(v.Tokens) || v.Tokens[t.ID] != t.Content {
			continue
		}
		switch {
		case t.Special:
			v.markControl(int32(t.ID))
		case v.Types[t.ID] == TypeNormal:
			v.Types[t.ID] = TypeUserDefined
		}
	}
}

// appendAdded gives the tokens added after training, whose ids follow the
// model's own pieces (T5's <extra_id_*>), their place at the end. Their
// types are applyAdded's business.
func (v *Vocab) appendAdded(added []addedToken) error {
	for _, a := range slices.SortedFunc(slices.Values(added), func(a, b addedToken) int { return a.ID - b.ID }) {
		switch {
		case a.ID > len(v.Tokens):
			return fmt.Errorf("added token %q has id %d but the vocabulary ends at %d", a.Content, a.ID, len(v.Tokens)-1)
		case a.ID == len(v.Tokens):
			v.Tokens = append(v.Tokens, a.Content)
			v.Types = append(v.Types, TypeNormal)
			if v.Scores != nil {
				v.Scores = append(v.Scores, 0)
			}
		}
	}
	return nil
}

// noSpecials returns a Vocab of the given model with every special id unset.
func noSpecials(model string) *Vocab {
	return &Vocab{Model: model, BOS: -1, EOS: -1, UNK: -1, SEP: -1, PAD: -1, CLS: -1, MASK: -1}
}
