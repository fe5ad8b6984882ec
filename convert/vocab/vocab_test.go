package vocab

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/convert/gguf"
)

// writeDir lays out a model directory with the given files.
func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func fromFiles(t *testing.T, files map[string]string) *Vocab {
	t.Helper()
	v, err := FromDir(writeDir(t, files))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func hasWarning(v *Vocab, substr string) bool {
	return slices.ContainsFunc(v.Warnings, func(w string) bool { return strings.Contains(w, substr) })
}

func TestFromDirPicksSource(t *testing.T) {
	wordPieceJSON := `{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 1}}}`
	spm := string(spModelBytes(spSpec{pieces: []spPiece{{"<unk>", 0, TypeUnknown}, {"<s>", 0, TypeControl}, {"</s>", 0, TypeControl}, {"▁a", -1, TypeNormal}}}))
	cases := []struct {
		files      map[string]string
		wantSource string
		wantModel  string
	}{
		{map[string]string{"tokenizer.json": wordPieceJSON, "vocab.txt": "[UNK]\nb\n", "tokenizer.model": spm}, "tokenizer.json", ModelWPM},
		{map[string]string{"vocab.txt": "[UNK]\nb\n", "tokenizer.model": spm}, "vocab.txt", ModelWPM},
		{map[string]string{"sentencepiece.bpe.model": spm, "tokenizer.model": spm}, "sentencepiece.bpe.model", ModelUGM},
		{map[string]string{"tokenizer.model": spm, "spiece.model": spm}, "tokenizer.model", ModelUGM},
		{map[string]string{"spiece.model": spm}, "spiece.model", ModelUGM},
	}
	for _, c := range cases {
		v := fromFiles(t, c.files)
		if filepath.Base(v.Source) != c.wantSource || v.Model != c.wantModel {
			t.Errorf("%v: read %s as %q, want %s as %q", slices.Sorted(maps.Keys(c.files)), v.Source, v.Model, c.wantSource, c.wantModel)
		}
	}
	_, err := FromDir(writeDir(t, map[string]string{"config.json": `{}`}))
	if err == nil || !strings.Contains(err.Error(), "has no tokenizer.json, vocab.txt") {
		t.Errorf("empty directory: %v", err)
	}
	_, err = FromDir(writeDir(t, map[string]string{"vocab.txt": "a\n", "tokenizer_config.json": "{"}))
	if err == nil || !strings.Contains(err.Error(), "tokenizer_config.json") {
		t.Errorf("broken tokenizer_config.json: %v", err)
	}
}

func TestPadToConfigVocabSize(t *testing.T) {
	v := fromFiles(t, map[string]string{"vocab.txt": "[PAD]\n[UNK]\nthe\n", "config.json": `{"vocab_size": 5, "type_vocab_size": 2}`})
	if !slices.Equal(v.Tokens, []string{"[PAD]", "[UNK]", "▁the", "[PAD3]", "[PAD4]"}) || v.Types[4] != TypeUnused || v.Scores != nil {
		t.Errorf("padded to %q %v %v", v.Tokens, v.Types, v.Scores)
	}
	u := validVocab()
	u.PadTo(4)
	if u.Tokens[3] != "[PAD3]" || u.Scores[3] != -10000 || u.Validate() != nil {
		t.Errorf("padded UGM vocabulary %q %v: %v", u.Tokens, u.Scores, u.Validate())
	}
	v = fromFiles(t, map[string]string{"vocab.txt": "[PAD]\n[UNK]\nthe\n", "config.json": `{"vocab_size": 2}`})
	if len(v.Tokens) != 3 || !hasWarning(v, "vocab_size 2 is smaller") {
		t.Errorf("vocab_size below the tokenizer's: %d tokens, warnings %q", len(v.Tokens), v.Warnings)
	}
}

func validVocab() *Vocab {
	v := noSpecials(ModelUGM)
	v.Tokens = []string{"<unk>", "▁a", "b"}
	v.Scores = []float32{0, -1, -2}
	v.Types = []int32{TypeUnknown, TypeNormal, TypeNormal}
	v.UNK = 0
	return v
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Vocab)
		want   string // "" for valid
	}{
		{"valid", func(*Vocab) {}, ""},
		{"duplicate", func(v *Vocab) { v.Tokens[2] = "▁a" }, "both \"▁a\""},
		{"empty token", func(v *Vocab) { v.Tokens[1] = "" }, "token 1 is empty"},
		{"types short", func(v *Vocab) { v.Types = v.Types[:2] }, "3 tokens but 2 types"},
		{"scores short", func(v *Vocab) { v.Scores = v.Scores[:1] }, "1 scores"},
		{"no scores", func(v *Vocab) { v.Scores = nil }, "needs scores"},
		{"wpm without scores", func(v *Vocab) { v.Model, v.Scores = ModelWPM, nil }, ""},
		{"bad type", func(v *Vocab) { v.Types[1] = 7 }, "type 7"},
		{"special out of range", func(v *Vocab) { v.EOS = 3 }, "eos_token_id id 3"},
		{"special below -1", func(v *Vocab) { v.PAD = -2 }, "padding_token_id id -2"},
		{"unknown model", func(v *Vocab) { v.Model = "rwkv" }, "unknown tokenizer model"},
		{"bpe without merges", func(v *Vocab) { v.Model, v.Pre = ModelBPE, "qwen2" }, "needs merges"},
		{"bpe", func(v *Vocab) { v.Model, v.Pre, v.Merges, v.Scores = ModelBPE, "qwen2", []string{"a b"}, nil }, ""},
		{"empty", func(v *Vocab) { v.Tokens, v.Types, v.Scores = nil, nil, nil }, "empty vocabulary"},
	}
	for _, c := range cases {
		v := validVocab()
		c.change(v)
		err := v.Validate()
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// writeAndRead writes v's metadata to a GGUF file and reads back its
// tokenizer keys with the Go type of each value.
func writeAndRead(t *testing.T, v *Vocab) map[string]string {
	t.Helper()
	w := gguf.NewWriter()
	w.AddKV("general.architecture", "bert")
	if err := v.WriteGGUF(w); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "v.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	md, err := gguf.ReadMetadata(path)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range md.KVs {
		if key, ok := strings.CutPrefix(kv.Key, "tokenizer.ggml."); ok {
			got[key] = fmt.Sprintf("%T", kv.Value)
		}
	}
	return got
}

// TestWriteGGUFKeys pins the keys and value types llama.cpp's vocabulary
// loader reads (llama-vocab.cpp, llama_vocab::impl::load): token types are
// int32, scores float32, ids uint32, the charsmap an array of uint8.
func TestWriteGGUFKeys(t *testing.T) {
	common := map[string]string{
		"model": "string", "pre": "string", "tokens": "[]string", "token_type": "[]int32",
		"add_bos_token": "bool", "add_eos_token": "bool",
	}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range common {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	wpm := fromFiles(t, map[string]string{"vocab.txt": "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n", "config.json": `{"type_vocab_size": 2}`})
	ugm := validVocab()
	ugm.EOS, ugm.AddEOS, ugm.PrecompiledCharsmap = 2, true, []byte{1, 2, 3}
	spm := validVocab()
	spm.Model, spm.AddBOS, spm.AddSpacePrefix = ModelSPM, true, true
	spmNoPrefix := validVocab()
	spmNoPrefix.Model = ModelSPM
	cases := []struct {
		name string
		v    *Vocab
		want map[string]string
	}{
		{"wpm", wpm, with(map[string]string{
			"bos_token_id": "uint32", "unknown_token_id": "uint32", "seperator_token_id": "uint32",
			"padding_token_id": "uint32", "cls_token_id": "uint32", "mask_token_id": "uint32", "add_sep_token": "bool",
		})},
		{"ugm", ugm, with(map[string]string{
			"scores": "[]float32", "unknown_token_id": "uint32", "eos_token_id": "uint32", "add_space_prefix": "bool",
			"remove_extra_whitespaces": "bool", "precompiled_charsmap": "[]uint8",
		})},
		{"spm", spm, with(map[string]string{"scores": "[]float32", "unknown_token_id": "uint32"})},
		{"spm without space prefix", spmNoPrefix, with(map[string]string{"scores": "[]float32", "unknown_token_id": "uint32", "add_space_prefix": "bool"})},
	}
	for _, c := range cases {
		if got := writeAndRead(t, c.v); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s:\n got %v\nwant %v", c.name, got, c.want)
		}
	}
}

func TestWriteGGUFRefusesInvalid(t *testing.T) {
	v := validVocab()
	v.Tokens[2] = v.Tokens[1]
	w := gguf.NewWriter()
	if err := v.WriteGGUF(w); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("duplicate tokens written: %v", err)
	}
	path := filepath.Join(t.TempDir(), "v.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	if md, _ := gguf.ReadMetadata(path); len(md.KVs) != 1 {
		t.Errorf("a refused vocabulary added %d keys", len(md.KVs)-1)
	}
}
