package vocab

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestPhantomForm(t *testing.T) {
	cases := []struct {
		tok  string
		typ  int32
		want string
	}{
		{"the", TypeNormal, "▁the"},
		{"##ing", TypeNormal, "ing"},
		{"##", TypeNormal, "▁##"}, // the prefix alone starts a word
		{"#", TypeNormal, "▁#"},
		{"[CLS]", TypeControl, "[CLS]"},
		{"[unused7]", TypeNormal, "[unused7]"}, // as convert_hf_to_gguf.py keeps it
		{"[", TypeNormal, "▁["},
		{"<e1>", TypeUserDefined, "<e1>"},
		{"##[x]", TypeNormal, "[x]"},
	}
	for _, c := range cases {
		if got := phantomForm(c.tok, c.typ, "##"); got != c.want {
			t.Errorf("phantomForm(%q, %d) = %q, want %q", c.tok, c.typ, got, c.want)
		}
	}
}

const bertVocab = "[PAD]\n[unused0]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n##s\n"

func TestVocabTxt(t *testing.T) {
	cases := []struct {
		name   string
		files  map[string]string
		tokens []string
		types  []int32
		// BOS, UNK, SEP, PAD, CLS, MASK, EOS
		ids       [7]int32
		lowercase bool
		warnings  []string
	}{
		{
			name:   "bert defaults",
			files:  map[string]string{"vocab.txt": bertVocab},
			tokens: []string{"[PAD]", "[unused0]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "▁the", "s"},
			types:  []int32{3, 1, 3, 3, 3, 3, 1, 1},
			ids:    [7]int32{3, 2, 4, 0, 3, 5, -1}, lowercase: true,
		},
		{
			name:   "cased",
			files:  map[string]string{"vocab.txt": bertVocab, "tokenizer_config.json": `{"do_lower_case": false, "tokenizer_class": "BertTokenizer"}`},
			tokens: []string{"[PAD]", "[unused0]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "▁the", "s"},
			types:  []int32{3, 1, 3, 3, 3, 3, 1, 1},
			ids:    [7]int32{3, 2, 4, 0, 3, 5, -1}, warnings: []string{"always lowercases"},
		},
		{
			name: "BertJapaneseTokenizer, an empty line",
			files: map[string]string{
				"vocab.txt":             "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n\n東京\n##都\n",
				"tokenizer_config.json": `{"tokenizer_class": "BertJapaneseTokenizer", "word_tokenizer_type": "mecab"}`,
			},
			tokens: []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[EMPTY_5]", "▁東京", "都"},
			types:  []int32{3, 3, 3, 3, 3, 5, 1, 1},
			ids:    [7]int32{2, 1, 3, 0, 2, 4, -1}, warnings: []string{"always lowercases", "MeCab"},
		},
		{
			name: "special tokens renamed, added and additional ones",
			files: map[string]string{
				"vocab.txt": "<pad>\n<unk>\n<cls>\n<sep>\n<ent>\n<mask>\nthe\n",
				"tokenizer_config.json": `{"cls_token": "[CLS]", "unk_token": {"content": "<unk>", "__type": "AddedToken"}, "do_lower_case": true,
					"added_tokens_decoder": {"4": {"content": "<ent>", "special": false}, "5": {"content": "<mask>", "special": true}}}`,
				// special_tokens_map.json wins over tokenizer_config.json.
				"special_tokens_map.json": `{"cls_token": "<cls>", "sep_token": "<sep>", "pad_token": "<pad>", "mask_token": "<mask>", "additional_special_tokens": ["<unk>"]}`,
			},
			tokens: []string{"<pad>", "<unk>", "<cls>", "<sep>", "<ent>", "<mask>", "▁the"},
			types:  []int32{3, 3, 3, 3, 4, 3, 1},
			ids:    [7]int32{2, 1, 3, 0, 2, 5, -1}, lowercase: true,
		},
		{
			name:   "a special token missing from the vocabulary",
			files:  map[string]string{"vocab.txt": "[UNK]\n[CLS]\n[SEP]\nthe\n", "special_tokens_map.json": `{"mask_token": "[MASK]"}`},
			tokens: []string{"[UNK]", "[CLS]", "[SEP]", "▁the"},
			types:  []int32{3, 3, 3, 1},
			ids:    [7]int32{1, 0, 2, -1, 1, -1, -1}, lowercase: true, warnings: []string{`mask_token "[MASK]" is not in the vocabulary`},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := fromFiles(t, c.files)
			if v.Model != ModelWPM || !slices.Equal(v.Tokens, c.tokens) || !slices.Equal(v.Types, c.types) {
				t.Errorf("%q %v\nwant %q %v", v.Tokens, v.Types, c.tokens, c.types)
			}
			if ids := [7]int32{v.BOS, v.UNK, v.SEP, v.PAD, v.CLS, v.MASK, v.EOS}; ids != c.ids {
				t.Errorf("BOS UNK SEP PAD CLS MASK EOS = %v, want %v", ids, c.ids)
			}
			if !v.AddBOS || !v.AddSEP || v.AddEOS || v.Scores != nil || v.Lowercase != c.lowercase {
				t.Errorf("flags %+v", v)
			}
			if len(v.Warnings) != len(c.warnings) {
				t.Errorf("warnings %q, want %q", v.Warnings, c.warnings)
			}
			for _, w := range c.warnings {
				if !hasWarning(v, w) {
					t.Errorf("no warning %q in %q", w, v.Warnings)
				}
			}
		})
	}
}

// A vocabulary whose phantom form repeats a token would abort llama.cpp.
func TestVocabTxtPhantomCollision(t *testing.T) {
	_, err := FromDir(writeDir(t, map[string]string{"vocab.txt": "[UNK]\n[x]\n##[x]\n"}))
	if err == nil || !strings.Contains(err.Error(), `both "[x]"`) {
		t.Errorf("collision: %v", err)
	}
}

// WordPieceTokens undoes the phantom-space rewrite: the GGUF's vocabulary
// gives back vocab.txt, which the Go tokenizers of BertJapaneseTokenizer
// models read at run time.
func TestWordPieceTokensRoundTrip(t *testing.T) {
	small := "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n[unused0]\n\nthe\n##ing\n##\n▁x\n"
	dirs := map[string]string{
		"small":                 writeDir(t, map[string]string{"vocab.txt": small}),
		"bert-base-japanese-v3": "../../testdata/tokenizers/bert-base-japanese-v3",
	}
	for name, dir := range dirs {
		v, err := FromDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, "vocab.txt"))
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		if got := WordPieceTokens(v.Tokens, v.Types); !slices.Equal(got, want) {
			for i := range min(len(got), len(want)) {
				if got[i] != want[i] {
					t.Fatalf("%s: token %d is %q, want %q", name, i, got[i], want[i])
				}
			}
			t.Fatalf("%s: %d tokens, want %d", name, len(got), len(want))
		}
	}
}
