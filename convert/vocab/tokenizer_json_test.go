package vocab

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"
)

func TestTokenizerJSONWordPiece(t *testing.T) {
	const vocab = `"vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "the": 4, "##s": 5}`
	const added = `"added_tokens": [{"id": 1, "content": "[UNK]", "special": true}, {"id": 6, "content": "<e1>", "special": false}]`
	cases := []struct {
		name      string
		json      string
		tokens    []string
		lowercase bool
		warning   string
	}{
		{"BertNormalizer lowercase", `{` + added + `, "normalizer": {"type": "BertNormalizer", "lowercase": true},
			"model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", ` + vocab + `}}`,
			[]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "▁the", "s", "<e1>"}, true, ""},
		{"cased", `{` + added + `, "normalizer": {"type": "BertNormalizer", "lowercase": false},
			"model": {"type": "WordPiece", "unk_token": "[UNK]", ` + vocab + `}}`,
			[]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "▁the", "s", "<e1>"}, false, "always lowercases"},
		{"Lowercase in a Sequence", `{"normalizer": {"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "Lowercase"}]},
			"model": {"type": "WordPiece", ` + vocab + `}}`,
			[]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "▁the", "s"}, true, ""},
		{"another continuation prefix", `{"normalizer": {"type": "BertNormalizer"},
			"model": {"type": "WordPiece", "continuing_subword_prefix": "@@", "vocab": {"[UNK]": 0, "the": 1, "@@s": 2, "##x": 3}}}`,
			[]string{"[UNK]", "▁the", "s", "▁##x"}, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := fromFiles(t, map[string]string{"tokenizer.json": c.json})
			if !slices.Equal(v.Tokens, c.tokens) || v.Lowercase != c.lowercase || v.UNK != 1 && c.tokens[1] == "[UNK]" {
				t.Errorf("tokens %q lowercase %v unk %d, want %q %v", v.Tokens, v.Lowercase, v.UNK, c.tokens, c.lowercase)
			}
			if (c.warning == "") != (len(v.Warnings) == 0) || (c.warning != "" && !hasWarning(v, c.warning)) {
				t.Errorf("warnings %q, want %q", v.Warnings, c.warning)
			}
			if n := len(v.Tokens); n == 7 && v.Types[6] != TypeUserDefined {
				t.Errorf("added non-special token has type %d", v.Types[6])
			}
		})
	}
}

// xlmrJSON is shaped like XLM-RoBERTa's tokenizer.json, in fairseq order.
func xlmrJSON(normalizer, preTokenizer string, byteFallback bool) string {
	charsmap := base64.StdEncoding.EncodeToString([]byte{1, 2, 3})
	if normalizer == "" {
		normalizer = `{"type": "Sequence", "normalizers": [{"type": "Precompiled", "precompiled_charsmap": "` + charsmap + `"},
			{"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]}`
	}
	fallback := "false"
	if byteFallback {
		fallback = "true"
	}
	return `{"added_tokens": [{"id": 0, "content": "<s>", "special": true}, {"id": 1, "content": "<pad>", "special": true},
		{"id": 2, "content": "</s>", "special": true}, {"id": 3, "content": "<unk>", "special": true}, {"id": 7, "content": "<mask>", "special": true}],
		"normalizer": ` + normalizer + `, "pre_tokenizer": ` + preTokenizer + `,
		"post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
			{"SpecialToken": {"id": "</s>", "type_id": 0}}]},
		"model": {"type": "Unigram", "unk_id": 3, "byte_fallback": ` + fallback + `,
			"vocab": [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0], ["▁", -3.5], ["<0x41>", -9.0], ["▁the", -2.25], ["<mask>", 0.0]]}}`
}

func TestTokenizerJSONUnigramAddedTokens(t *testing.T) {
	v := fromFiles(t, map[string]string{"tokenizer.json": `{"added_tokens": [{"id": 3, "content": "<y>", "special": false},
		{"id": 2, "content": "<x>", "special": true}, {"id": 0, "content": "<unk>", "special": true}],
		"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["▁a", -1.0]]}}`})
	if !slices.Equal(v.Tokens, []string{"<unk>", "▁a", "<x>", "<y>"}) || !slices.Equal(v.Types, []int32{2, 1, 3, 4}) || !slices.Equal(v.Scores, []float32{0, -1, 0, 0}) {
		t.Errorf("%q %v %v", v.Tokens, v.Types, v.Scores)
	}
}

func TestTokenizerJSONUnigram(t *testing.T) {
	metaspace := `{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true}`
	cases := []struct {
		name                  string
		json                  string
		prefix, removeExtraWS bool
		charsmap              []byte
		byteType              int32
		warning               string
	}{
		{"XLM-R", xlmrJSON("", metaspace, false), true, true, []byte{1, 2, 3}, TypeNormal, ""},
		{"T5: WhitespaceSplit, legacy add_prefix_space", xlmrJSON(
			`{"type": "Precompiled", "precompiled_charsmap": "CQk="}`,
			`{"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, {"type": "Metaspace", "replacement": "▁", "add_prefix_space": true}]}`, false),
			true, true, []byte{9, 9}, TypeNormal, ""},
		{"no prefix", xlmrJSON("", `{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never"}`, false), false, true, []byte{1, 2, 3}, TypeNormal, ""},
		{"no normalizer", xlmrJSON("null", metaspace, false), true, false, nil, TypeNormal, ""},
		{"byte fallback", xlmrJSON("", metaspace, true), true, true, []byte{1, 2, 3}, TypeByte, "byte pieces"},
		{"NFKC", xlmrJSON(`{"type": "NFKC"}`, metaspace, false), true, false, nil, TypeNormal, "cannot apply the NFKC normalizer"},
		{"digits", xlmrJSON("", `{"type": "Sequence", "pretokenizers": [{"type": "Digits"}, `+metaspace+`]}`, false), true, true, []byte{1, 2, 3}, TypeNormal, "Digits pre-tokenizer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := fromFiles(t, map[string]string{"tokenizer.json": c.json})
			if v.Model != ModelUGM || !slices.Equal(v.Scores, []float32{0, 0, 0, 0, -3.5, -9, -2.25, 0}) ||
				!slices.Equal(v.Types, []int32{3, 3, 3, 2, 1, c.byteType, 1, 3}) {
				t.Errorf("%q %v %v", v.Tokens, v.Scores, v.Types)
			}
			if v.BOS != 0 || v.CLS != 0 || v.PAD != 1 || v.EOS != 2 || v.SEP != 2 || v.UNK != 3 || v.MASK != 7 || !v.AddBOS || !v.AddEOS {
				t.Errorf("specials %+v", v)
			}
			if v.AddSpacePrefix != c.prefix || v.RemoveExtraWhitespaces != c.removeExtraWS || !slices.Equal(v.PrecompiledCharsmap, c.charsmap) {
				t.Errorf("prefix %v, remove extra whitespaces %v, charsmap %v", v.AddSpacePrefix, v.RemoveExtraWhitespaces, v.PrecompiledCharsmap)
			}
			if (c.warning == "") != (len(v.Warnings) == 0) || (c.warning != "" && !hasWarning(v, c.warning)) {
				t.Errorf("warnings %q, want %q", v.Warnings, c.warning)
			}
		})
	}
}

// llamaJSON is shaped like Llama 2's tokenizer.json: a BPE model with byte
// fallback and the "▁" marks put in by its normalizer.
func llamaJSON(merges string) string {
	return `{"added_tokens": [{"id": 0, "content": "<unk>", "special": true}, {"id": 1, "content": "<s>", "special": true},
		{"id": 2, "content": "</s>", "special": true}],
		"normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
			{"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
		"pre_tokenizer": null,
		"post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}]},
		"model": {"type": "BPE", "unk_token": "<unk>", "byte_fallback": true, "fuse_unk": true,
			"vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x0A>": 3, "▁": 4, "t": 5, "h": 6, "e": 7, "he": 8, "▁t": 9, "▁the": 10, "th": 11},
			"merges": ` + merges + `}}`
}

func TestTokenizerJSONBPE(t *testing.T) {
	for name, merges := range map[string]string{
		"merges as strings": `["h e", "▁ t", "▁t he", "t h"]`,
		"merges as pairs":   `[["h", "e"], ["▁", "t"], ["▁t", "he"], ["t", "h"]]`,
	} {
		t.Run(name, func(t *testing.T) {
			v := fromFiles(t, map[string]string{"tokenizer.json": llamaJSON(merges)})
			// The product of merge r scores -r; what no merge makes scores
			// below them all.
			wantScores := []float32{-5, -5, -5, -5, -5, -5, -5, -5, 0, -1, -2, -3}
			if v.Model != ModelSPM || !slices.Equal(v.Scores, wantScores) || !slices.Equal(v.Types, []int32{2, 3, 3, 6, 1, 1, 1, 1, 1, 1, 1, 1}) {
				t.Errorf("scores %v types %v", v.Scores, v.Types)
			}
			if v.BOS != 1 || v.EOS != 2 || v.UNK != 0 || v.CLS != -1 || v.SEP != -1 || !v.AddBOS || v.AddEOS || !v.AddSpacePrefix || len(v.Warnings) > 0 {
				t.Errorf("%+v", v)
			}
		})
	}
	// transformers rebuilds Llama's post-processor from these flags.
	v := fromFiles(t, map[string]string{"tokenizer.json": llamaJSON(`[]`), "tokenizer_config.json": `{"add_bos_token": false, "add_eos_token": true}`})
	if v.AddBOS || !v.AddEOS {
		t.Errorf("tokenizer_config.json flags ignored: add_bos %v add_eos %v", v.AddBOS, v.AddEOS)
	}
}

func TestTokenizerJSONRefusals(t *testing.T) {
	cases := []struct {
		name, json, want string
	}{
		{"byte-level BPE split by an unknown expression", `{"pre_tokenizer": {"type": "Sequence", "pretokenizers": [
			{"type": "Split", "pattern": {"Regex": "\\s+"}}, {"type": "ByteLevel", "use_regex": false}]},
			"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}`, "no name for"},
		{"WordLevel", `{"model": {"type": "WordLevel", "vocab": {"a": 0}}}`, `model type "WordLevel"`},
		{"gap in ids", `{"model": {"type": "WordPiece", "vocab": {"a": 0, "b": 2}}}`, "no token has id 1"},
		{"shared id", `{"model": {"type": "WordPiece", "vocab": {"a": 0, "b": 0}}}`, "share id 0"},
		{"added token past the unigram vocabulary", `{"added_tokens": [{"id": 3, "content": "<x>", "special": true}],
			"model": {"type": "Unigram", "vocab": [["a", 0.0], ["b", -1.0]]}}`, "vocabulary ends at 1"},
		{"bad unigram entry", `{"model": {"type": "Unigram", "vocab": [["a", 0.0], ["b"]]}}`, "entry 1"},
		{"bad merge", `{"normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
			"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["ab"]}}`, "merge 0"},
		{"not JSON", `{"model":`, "tokenizer.json"},
	}
	for _, c := range cases {
		_, err := FromDir(writeDir(t, map[string]string{"tokenizer.json": c.json}))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %q", c.name, err, c.want)
		}
	}
}
