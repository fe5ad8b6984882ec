package bertjapanese

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Debian's dictionaries, which the tests compare through the real mecab.
const (
	debianUniDic = "/var/lib/mecab/dic/unidic"
	installHint  = "install the reference as root: apt-get install -y mecab mecab-ipadic-utf8 unidic-mecab"
)

var smallVocab = []string{
	"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
	"東京", "##都", "都", "に", "住む", "株式", "会社", "!", "un", "##aff", "##able", "hello", ",", "world", "cafe", "a", "##b",
}

func config(t *testing.T, js string) Config {
	t.Helper()
	c, err := ParseConfig([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newTokenizer(t testing.TB, cfg Config, vocab []string, dicdir string) *Tokenizer {
	t.Helper()
	if dicdir != "" {
		if _, err := os.Stat(filepath.Join(dicdir, "sys.dic")); err != nil {
			t.Fatalf("no MeCab dictionary at %s: %s", dicdir, installHint)
		}
	}
	tk, err := New(cfg, vocab, dicdir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tk.Close() })
	return tk
}

func pieces(toks []Token) []string {
	out := make([]string, len(toks))
	for i, tok := range toks {
		out[i] = tok.Piece
	}
	return out
}

func TestParseConfig(t *testing.T) {
	c := config(t, `{"tokenizer_class": "BertJapaneseTokenizer", "word_tokenizer_type": "mecab",
		"mecab_kwargs": {"mecab_dic": "unidic_lite"}, "unk_token": {"content": "[UNK]", "__type": "AddedToken"},
		"additional_special_tokens": ["<extra>"]}`)
	want := Config{WordTokenizer: "mecab", SubwordTokenizer: "wordpiece", DoWordTokenize: true, DoSubword: true,
		MecabDic: "unidic_lite", NormalizeText: true, UnkToken: "[UNK]", SepToken: "[SEP]", PadToken: "[PAD]",
		CLSToken: "[CLS]", MaskToken: "[MASK]", Specials: []string{"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]", "<extra>"}}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
	// MecabTokenizer's own default dictionary is IPAdic; JSON null means
	// MeCab's configured default.
	if c := config(t, `{"word_tokenizer_type": "mecab"}`); c.MecabDic != "ipadic" || c.WordTokenizer != "mecab" {
		t.Errorf("defaults: %+v", c)
	}
	if c := config(t, `{"word_tokenizer_type": "mecab", "mecab_kwargs": {"mecab_dic": null, "mecab_option": "-d /x/y"}}`); c.MecabDic != "" {
		t.Errorf("null mecab_dic: %+v", c)
	} else if dir, err := c.Dicdir(Places{}); dir != "/x/y" || err != nil {
		t.Errorf("mecab_option -d: %q %v", dir, err)
	}
	for _, bad := range []string{
		`{"tokenizer_class": "BertTokenizer"}`,
		`{"word_tokenizer_type": "sudachi"}`,
		`{"subword_tokenizer_type": "sentencepiece"}`,
		`{"word_tokenizer_type": "mecab", "mecab_kwargs": {"mecab_dic": "neologd"}}`,
	} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestDicdirSaysWhatToDo(t *testing.T) {
	models := t.TempDir()
	c := config(t, `{"word_tokenizer_type": "mecab", "mecab_kwargs": {"mecab_dic": "unidic_lite"}}`)
	if _, err := c.Dicdir(Places{ModelsDir: models}); err == nil || !strings.Contains(err.Error(), "rerank-api pull") || !strings.Contains(err.Error(), "MECAB_DICDIR") {
		t.Errorf("missing unidic-lite: %v", err)
	}
	if dir, _ := c.Dicdir(Places{Override: "/override", ModelsDir: models}); dir != "/override" {
		t.Errorf("override: %q", dir)
	}
	dir := UnidicLiteDir(models)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sys.dic"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Dicdir(Places{ModelsDir: models}); got != dir || err != nil {
		t.Errorf("pulled unidic-lite: %q %v", got, err)
	}
	if _, err := config(t, `{"word_tokenizer_type": "mecab", "mecab_kwargs": {"mecab_dic": "unidic"}}`).Dicdir(Places{ModelsDir: models}); err == nil {
		t.Error("full UniDic: no error")
	}
}

// The basic word tokenizer is BERT's BasicTokenizer without CJK splitting;
// the subword tokenizer is WordPiece.
func TestBasicWordPiece(t *testing.T) {
	tk := newTokenizer(t, config(t, `{"do_lower_case": true, "never_split": ["Hello"]}`), smallVocab, "")
	cases := []struct {
		text string
		want []string
	}{
		{"unaffable", []string{"un", "##aff", "##able"}},
		{"UNAFFABLE Café", []string{"un", "##aff", "##able", "cafe"}}, // lowercased, accents stripped
		{"hello,world!", []string{"hello", ",", "world", "!"}},
		{"ab abc", []string{"a", "##b", "[UNK]"}}, // one unmatched part makes the whole word [UNK]
		{"東京都 [SEP]x\u00a0\u200bhello", []string{"東京", "##都", "[SEP]", "[UNK]", "hello"}},
		{strings.Repeat("a", 101), []string{"[UNK]"}}, // over max_input_chars_per_word
	}
	for _, c := range cases {
		if got := pieces(tk.Tokenize(c.text)); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: got %q, want %q", c.text, got, c.want)
		}
	}
	ids, types := tk.BuildInputs([]int32{13}, []int32{16, 17})
	if !reflect.DeepEqual(ids, []int32{2, 13, 3, 16, 17, 3}) || !reflect.DeepEqual(types, []int32{0, 0, 0, 1, 1, 1}) {
		t.Errorf("pair: %v %v", ids, types)
	}
	if ids, types := tk.BuildInputs([]int32{13}, nil); !reflect.DeepEqual(ids, []int32{2, 13, 3}) || !reflect.DeepEqual(types, []int32{0, 0, 0}) {
		t.Errorf("single: %v %v", ids, types)
	}
}

// Offsets point into the original text, also where NFKC changed it: the
// fullwidth "！" becomes "!", and "㍿" becomes 株式会社, two words that
// both come from the one character.
func TestOffsetsAfterNFKC(t *testing.T) {
	tk := newTokenizer(t, config(t, `{"word_tokenizer_type": "mecab", "mecab_kwargs": {"mecab_dic": "unidic"}}`), smallVocab, debianUniDic)
	text := "東京に住む㍿！[SEP]"
	got := tk.Tokenize(text)
	want := []Token{
		{5, "東京", false, 0, 6}, {8, "に", false, 6, 9}, {9, "住む", false, 9, 15},
		{10, "株式", false, 15, 18}, {11, "会社", false, 15, 18}, {12, "!", false, 18, 21}, {3, "[SEP]", true, 21, 26},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	if ids := tk.Encode(text); !reflect.DeepEqual(ids, []int32{5, 8, 9, 10, 11, 12, 3}) {
		t.Errorf("Encode: %v", ids)
	}
}

func TestCharacterSubwords(t *testing.T) {
	cfg := config(t, `{"word_tokenizer_type": "basic", "subword_tokenizer_type": "character"}`)
	tk := newTokenizer(t, cfg, []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "東", "京", "!"}, "")
	got := tk.Tokenize("東京都！")
	want := []Token{{5, "東", false, 0, 3}, {6, "京", false, 3, 6}, {1, "[UNK]", false, 6, 9}, {7, "!", false, 9, 12}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

// Invalid UTF-8 (which the CLI passes through as the shell gave it) is
// tokenized without a panic, each bad byte an [UNK] spanning that byte.
func TestInvalidUTF8(t *testing.T) {
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "東", "京", "!"}
	for _, js := range []string{
		`{"do_word_tokenize": false, "subword_tokenizer_type": "character"}`,
		`{"word_tokenizer_type": "basic", "subword_tokenizer_type": "character"}`,
		`{"word_tokenizer_type": "basic", "do_lower_case": true}`,
	} {
		tk := newTokenizer(t, config(t, js), vocab, "")
		for _, text := range []string{"東\xff京", "\xe6\x97", "!\xf7\xbf\xbf\xbf!", "\xed\xa0\x80"} {
			for _, tok := range tk.Tokenize(text) {
				if tok.Start > tok.End || tok.End > len(text) {
					t.Errorf("%s: %q: token %v spans outside the text", js, text, tok)
				}
			}
		}
	}
	tk := newTokenizer(t, config(t, `{"do_word_tokenize": false, "subword_tokenizer_type": "character"}`), vocab, "")
	want := []Token{{5, "東", false, 0, 3}, {1, "[UNK]", false, 3, 4}, {6, "京", false, 4, 7}}
	if got := tk.Tokenize("東\xff京"); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

// Decode reads ids back as transformers does: "##" pieces glued on, words
// space-separated, no space before punctuation, specials kept or skipped.
func TestDecode(t *testing.T) {
	tk := newTokenizer(t, config(t, `{"do_lower_case": true}`), smallVocab, "")
	// [CLS] 東京 ##都 に 住む un ##aff ##able hello , world ! [SEP]
	ids := []int32{2, 5, 6, 8, 9, 13, 14, 15, 16, 17, 18, 12, 3}
	if got, want := tk.Decode(ids, true), "東京都 に 住む unaffable hello, world!"; got != want {
		t.Errorf("skipping specials: %q, want %q", got, want)
	}
	if got, want := tk.Decode(ids[:3], false), "[CLS] 東京都"; got != want {
		t.Errorf("with specials: %q, want %q", got, want)
	}
}
