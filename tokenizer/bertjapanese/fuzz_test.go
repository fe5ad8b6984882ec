package bertjapanese

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// fuzzConfigs are the tokenizer settings FuzzTokenize runs every text
// through: bert-base-japanese-v3's own (MeCab with UniDic, WordPiece), and
// the other word and subword tokenizers over the same vocabulary.
var fuzzConfigs = []string{
	"", // the real tokenizer_config.json
	`{"word_tokenizer_type": "basic", "do_lower_case": true, "never_split": ["[SEP]x"]}`,
	`{"word_tokenizer_type": "mecab", "subword_tokenizer_type": "character", "mecab_kwargs": {"mecab_dic": "unidic", "normalize_text": false}}`,
	`{"do_word_tokenize": false, "subword_tokenizer_type": "character", "additional_special_tokens": ["東京", "<x>"]}`,
}

// FuzzTokenize feeds text to BertJapaneseTokenizer with bert-base-japanese-v3's
// vocabulary (testdata/tokenizers), seeded from the package's tests and
// the JSTS sentences: every token must lie inside the text in order, carry
// an id of the vocabulary, and decode.
func FuzzTokenize(f *testing.F) {
	for _, s := range []string{"東京都に住む", "東京に住む㍿！[SEP]", "東京都！", "東\xff京", "\xe6\x97", "!\xf7\xbf\xbf\xbf!",
		"\xed\xa0\x80", "unaffable hello, world!", "ｶﾀｶﾅとＡＢＣ　と１２３", "[CLS][SEP] [UNK]", "e\u0301\u200d😀"} {
		f.Add(s)
	}
	for _, s := range jstsSentences(f)[:20] {
		f.Add(s)
	}
	cfg, vocab := v3(f)
	var tokenizers []*Tokenizer
	for _, js := range fuzzConfigs {
		c := cfg
		if js != "" {
			var err error
			if c, err = ParseConfig([]byte(js)); err != nil {
				f.Fatal(err)
			}
		}
		tokenizers = append(tokenizers, newTokenizer(f, c, vocab, debianUniDic))
	}
	f.Fuzz(func(t *testing.T, text string) {
		for i, tk := range tokenizers {
			toks := tk.Tokenize(text)
			checkTokens(t, fuzzConfigs[i], text, toks, len(vocab))
			ids := tk.Encode(text)
			if len(ids) != len(toks) {
				t.Fatalf("%s: %q: Encode gave %d ids, Tokenize %d tokens", fuzzConfigs[i], text, len(ids), len(toks))
			}
			tk.Decode(ids, i%2 == 0)
		}
	})
}

func checkTokens(t *testing.T, config, text string, toks []Token, vocabSize int) {
	t.Helper()
	start := 0
	for _, tok := range toks {
		if tok.Start < start || tok.End < tok.Start || tok.End > len(text) || tok.ID < 0 || int(tok.ID) >= vocabSize {
			t.Fatalf("%s: %q: token %+v (after offset %d)", config, text, tok, start)
		}
		start = tok.Start
	}
}

// FuzzParseConfig feeds tokenizer_config.json to ParseConfig, seeded with
// the real configs of testdata/tokenizers: it must refuse the file or give
// a Config that picks a dictionary and, for the word tokenizers that need
// none, builds a tokenizer that tokenizes.
func FuzzParseConfig(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "tokenizers", "*", "tokenizer_config.json"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"word_tokenizer_type": "mecab", "mecab_kwargs": {"mecab_dic": null, "mecab_option": "-d /x/y -r /dev/null"}}`))
	f.Add([]byte(`{"unk_token": {"content": "[UNK]", "__type": "AddedToken"}, "added_tokens_decoder": {"5": {"content": "東京"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err != nil {
			return
		}
		cfg.Dicdir(Places{ModelsDir: "/nonexistent"})
		if cfg.DoWordTokenize && cfg.WordTokenizer == "mecab" {
			return
		}
		vocab := slices.Concat(smallVocab, cfg.Specials, []string{cfg.UnkToken, cfg.CLSToken, cfg.SepToken})
		tk, err := New(cfg, vocab, "")
		if err != nil {
			t.Fatalf("a config that parses builds no tokenizer over a vocabulary with its specials: %v", err)
		}
		text := "東京都に住む" + cfg.SepToken + "hello, world!"
		checkTokens(t, string(data), text, tk.Tokenize(text), len(vocab))
	})
}
