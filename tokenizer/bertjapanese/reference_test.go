package bertjapanese

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// testdataPath is a path in the repository's testdata/: public data written by
// other projects, each with its origin and licence.
func testdataPath(t testing.TB, parts ...string) string {
	path := filepath.Join(append([]string{"..", "..", "testdata"}, parts...)...)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("reference data missing: %v", err)
	}
	return path
}

// v3 is cl-tohoku/bert-base-japanese-v3's tokenizer: ruri's and
// japanese-reranker's vocabulary, MeCab with unidic-lite.
func v3(t testing.TB) (Config, []string) {
	dir := testdataPath(t, "tokenizers", "bert-base-japanese-v3")
	data, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	vocab, err := os.ReadFile(filepath.Join(dir, "vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg, strings.Split(strings.TrimSuffix(string(vocab), "\n"), "\n")
}

// The tokenizer configs of the Japanese models in the reference data all
// parse, with the settings they state.
func TestParseRealConfigs(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(testdataPath(t, "tokenizers"), "*", "tokenizer_config.json"))
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, []byte("BertJapaneseTokenizer")) {
			continue
		}
		c, err := ParseConfig(data)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if c.WordTokenizer != "mecab" || c.SubwordTokenizer != "wordpiece" || c.MecabDic != "unidic_lite" || c.DoLowerCase || !c.NormalizeText {
			t.Errorf("%s: %+v", path, c)
		}
	}
}

// debianDicts are the dictionaries the expected tokens are checked with.
// The published expectation was made with unidic-lite (UniDic 2.1.2),
// which Debian does not package. Debian's UniDic 3.1.1 segments these
// inputs as unidic-lite does, so it must match every case. IPAdic segments
// some words differently; its exceptions list those inputs with the tokens
// IPAdic gives, and every other input must match.
var debianDicts = []struct {
	name, dir  string
	exceptions map[string][]string
}{
	{"unidic (Debian unidic-mecab, UniDic 3.1.1)", debianUniDic, nil},
	{"ipadic-utf8 (Debian mecab-ipadic-utf8)", "/var/lib/mecab/dic/ipadic-utf8", map[string][]string{
		// お釣り is one IPAdic word, which WordPiece then splits; IPAdic
		// reads いこう as いこ+う.
		"未来科学部でコンビニ店員になりきってお釣りを返していこう！": {
			"未来", "科学", "部", "で", "コンビニ", "店員", "に", "なり", "きっ", "て",
			"お", "##釣", "##り", "を", "返し", "て", "い", "##こ", "う", "!"},
	}},
}

// Each dictionary gives transformers' tokens and ids for every input, or
// for its listed exceptions the tokens listed there.
func TestExpectedTokensFromTransformers(t *testing.T) {
	var exp struct {
		Inputs []string   `json:"inputs"`
		Tokens [][]string `json:"cl-tohoku/bert-base-japanese-v2 (unidic-lite)"`
		IDs    [][]*int32 `json:"ids_in_v3_vocab_for_v2_tokens"`
	}
	data, err := os.ReadFile(testdataPath(t, "tokenizer-vectors", "bert-japanese-expected-tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &exp); err != nil {
		t.Fatal(err)
	}
	cfg, vocab := v3(t)
	index := map[string]int32{}
	for i, tok := range vocab {
		index[tok] = int32(i)
	}
	for _, d := range debianDicts {
		t.Run(filepath.Base(d.dir), func(t *testing.T) {
			tk := newTokenizer(t, cfg, vocab, d.dir)
			for i, text := range exp.Inputs {
				wantTokens := exp.Tokens[i]
				wantIDs := make([]int32, 0, len(exp.IDs[i]))
				for _, id := range exp.IDs[i] {
					if id != nil {
						wantIDs = append(wantIDs, *id)
					}
				}
				if tokens, ok := d.exceptions[text]; ok {
					wantTokens, wantIDs = tokens, nil
					for _, tok := range tokens {
						wantIDs = append(wantIDs, index[tok])
					}
				}
				if got := pieces(tk.Tokenize(text)); !reflect.DeepEqual(got, wantTokens) {
					t.Errorf("%s: %q\n got: %q\nwant: %q", d.name, text, got, wantTokens)
				}
				if got := tk.Encode(text); !reflect.DeepEqual(got, wantIDs) {
					t.Errorf("%s: %q\n ids: %v\nwant: %v", d.name, text, got, wantIDs)
				}
			}
			for text := range d.exceptions {
				if !slices.Contains(exp.Inputs, text) {
					t.Errorf("exception %q is not an input of the expectation", text)
				}
			}
		})
	}
}

// jstsSentences are the Japanese sentences of JSTS (JGLUE), both columns.
func jstsSentences(t testing.TB) []string {
	paths, _ := filepath.Glob(filepath.Join(testdataPath(t, "eval", "jglue", "datasets"), "jsts-*", "*.json"))
	var out []string
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		for {
			var rec struct{ Sentence1, Sentence2 string }
			if err := dec.Decode(&rec); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			out = append(out, rec.Sentence1, rec.Sentence2)
		}
	}
	if len(out) == 0 {
		t.Skip("no JSTS sentences in the reference data")
	}
	return out
}

// wakati runs the real `mecab -Owakati` once over lines.
func wakati(t *testing.T, dicdir string, lines []string) [][]string {
	bin, err := exec.LookPath("mecab")
	if err != nil {
		t.Fatalf("mecab is not installed; this test compares with the real binary: %s", installHint)
	}
	cmd := exec.Command(bin, "-d", dicdir, "-b", "1048576", "-Owakati")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mecab: %v", err)
	}
	rows := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(rows) != len(lines) {
		t.Fatalf("mecab answered %d lines for %d", len(rows), len(lines))
	}
	words := make([][]string, len(rows))
	for i, row := range rows {
		words[i] = strings.Fields(row)
	}
	return words
}

// naiveWordPiece is WordpieceTokenizer written the obvious way, as
// transformers does, to check the package's faster lookups against.
func naiveWordPiece(vocab map[string]int32, unk int32, word string) []int32 {
	chars := []rune(word)
	if len(chars) > maxWordChars {
		return []int32{unk}
	}
	var ids []int32
	for start := 0; start < len(chars); {
		end, found := len(chars), int32(-1)
		for ; start < end; end-- {
			sub := string(chars[start:end])
			if start > 0 {
				sub = "##" + sub
			}
			if id, ok := vocab[sub]; ok {
				found = id
				break
			}
		}
		if found < 0 {
			return []int32{unk}
		}
		ids = append(ids, found)
		start = end
	}
	return ids
}

// The whole pipeline against independent parts: NFKC, the real mecab
// binary and a naive WordPiece give the same ids as the tokenizer on every
// JSTS sentence, with each Debian dictionary; and the ids of Tokenize (the
// offset-tracking path) equal Encode's.
func TestMatchesMecabAndNaiveWordPiece(t *testing.T) {
	cfg, vocab := v3(t)
	index := map[string]int32{}
	for i, tok := range vocab {
		index[tok] = int32(i)
	}
	sentences := jstsSentences(t)
	normalized := make([]string, len(sentences))
	for i, s := range sentences {
		normalized[i] = norm.NFKC.String(s)
	}
	for _, d := range debianDicts {
		t.Run(filepath.Base(d.dir), func(t *testing.T) {
			tk := newTokenizer(t, cfg, vocab, d.dir)
			words := wakati(t, d.dir, normalized)
			bad := 0
			for i, s := range sentences {
				var want []int32
				for _, w := range words[i] {
					want = append(want, naiveWordPiece(index, index["[UNK]"], w)...)
				}
				got := tk.Encode(s)
				var viaTokens []int32
				for _, tok := range tk.Tokenize(s) {
					viaTokens = append(viaTokens, tok.ID)
				}
				if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(viaTokens, want) {
					if bad++; bad <= 10 {
						t.Errorf("%q:\n Encode:   %v\n Tokenize: %v\n want:     %v", s, got, viaTokens, want)
					}
				}
			}
			t.Logf("%d sentences, %d mismatches", len(sentences), bad)
		})
	}
}
