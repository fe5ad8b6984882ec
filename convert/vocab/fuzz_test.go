package vocab

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/internal/fuzzcheck"
)

// realFile reads a file of the repository's testdata.
func realFile(f *testing.F, parts ...string) []byte {
	b, err := os.ReadFile(filepath.Join(append([]string{"..", "..", "testdata"}, parts...)...))
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// shrinkSentencePiece keeps the first n pieces of a SentencePiece model and
// every other field, so a real model makes a seed of a few kilobytes.
func shrinkSentencePiece(b []byte, n int) []byte {
	var out []byte
	for len(b) > 0 {
		num, typ, tagLen := protowire.ConsumeTag(b)
		valLen := protowire.ConsumeFieldValue(num, typ, b[tagLen:])
		if tagLen < 0 || valLen < 0 {
			break
		}
		if num != fieldModelPieces || n > 0 {
			out = append(out, b[:tagLen+valLen]...)
		}
		if num == fieldModelPieces {
			n--
		}
		b = b[tagLen+valLen:]
	}
	return out
}

// shrinkTokenizerJSON cuts a tokenizer.json's vocabulary (a Unigram list or
// a WordPiece/BPE map) to its first n entries and drops its merges.
func shrinkTokenizerJSON(f *testing.F, b []byte, n int) []byte {
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		f.Fatal(err)
	}
	model := doc["model"].(map[string]any)
	switch v := model["vocab"].(type) {
	case []any:
		model["vocab"] = v[:min(n, len(v))]
	case map[string]any:
		kept := map[string]any{}
		for tok, id := range v {
			if id.(float64) < float64(n) {
				kept[tok] = id
			}
		}
		model["vocab"] = kept
	}
	delete(model, "merges")
	var added []any
	for _, a := range doc["added_tokens"].([]any) {
		if a.(map[string]any)["id"].(float64) < float64(n) {
			added = append(added, a)
		}
	}
	doc["added_tokens"] = added
	out, err := json.Marshal(doc)
	if err != nil {
		f.Fatal(err)
	}
	return out
}

// firstLines keeps the first n lines of a vocab.txt.
func firstLines(b []byte, n int) []byte {
	lines := strings.SplitAfterN(string(b), "\n", n+1)
	return []byte(strings.Join(lines[:min(n, len(lines))], ""))
}

// FuzzSentencePiece feeds the SentencePiece model parser (protobuf) and
// its conversion to llama.cpp's vocabulary, both as a tokenizer.model and
// as fairseq's sentencepiece.bpe.model.
func FuzzSentencePiece(f *testing.F) {
	f.Add(shrinkSentencePiece(realFile(f, "sentencepiece", "test_model.model"), 40), false)
	f.Add(shrinkSentencePiece(realFile(f, "sentencepiece", "test_ja_model.model"), 40), true)
	f.Add(spModelBytes(spSpec{}), false)
	f.Fuzz(func(t *testing.T, data []byte, fairseq bool) {
		file := "tokenizer.model"
		if fairseq {
			file = "sentencepiece.bpe.model"
		}
		fuzzcheck.Bounded(t, len(data), 64, 0, func() {
			m, err := parseSentencePiece(data)
			if err != nil {
				return
			}
			v, err := m.vocab(file, &hfConfig{roles: map[string]string{}})
			if err != nil {
				return
			}
			writeGGUF(t, v)
		})
	})
}

// writeGGUF checks that a vocabulary either fails Validate or writes.
func writeGGUF(t *testing.T, v *Vocab) {
	w := gguf.NewWriter()
	if err := v.WriteGGUF(w); err != nil {
		return
	}
	if _, err := w.WriteTo(io.Discard); err != nil {
		t.Fatalf("a vocabulary that validates does not write: %v", err)
	}
}

// fuzzSources are the tokenizer files FuzzFromDir writes its input as.
var fuzzSources = []string{"tokenizer.json", "vocab.txt", "tokenizer.model", "sentencepiece.bpe.model"}

// FuzzFromDir feeds a model directory's tokenizer files to FromDir: a
// tokenizer.json, vocab.txt or SentencePiece model (source picks which)
// with its tokenizer_config.json and config.json. FromDir must refuse them
// or return a vocabulary that validates and writes, allocating in
// proportion to the files.
func FuzzFromDir(f *testing.F) {
	bert := func(name string) []byte { return realFile(f, "tiny-models", "BertForSequenceClassification", name) }
	t5 := func(name string) []byte { return realFile(f, "tiny-models", "T5ForConditionalGeneration", name) }
	jp := func(name string) []byte { return realFile(f, "tokenizers", "bert-base-japanese-v3", name) }
	f.Add(uint8(0), shrinkTokenizerJSON(f, bert("tokenizer.json"), 64), bert("tokenizer_config.json"), bert("config.json"))
	f.Add(uint8(0), shrinkTokenizerJSON(f, t5("tokenizer.json"), 64), t5("tokenizer_config.json"), t5("config.json"))
	f.Add(uint8(1), bert("vocab.txt"), bert("tokenizer_config.json"), bert("config.json"))
	f.Add(uint8(1), firstLines(jp("vocab.txt"), 64), jp("tokenizer_config.json"), jp("config.json"))
	f.Add(uint8(2), shrinkSentencePiece(realFile(f, "sentencepiece", "test_model.model"), 40), []byte(`{"add_bos_token": true}`), []byte(`{"vocab_size": 48}`))
	f.Add(uint8(3), shrinkSentencePiece(realFile(f, "sentencepiece", "test_ja_model.model"), 40), []byte(`{"tokenizer_class": "XLMRobertaTokenizer"}`), []byte(`{}`))
	f.Add(uint8(0), []byte(xlmrJSON("", "", true)), []byte(`{}`), []byte(`{}`))
	f.Add(uint8(0), []byte(llamaJSON(`["a b"]`)), []byte(`{}`), []byte(`{}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, source uint8, data, tokenizerConfig, config []byte) {
		for _, name := range fuzzSources {
			os.Remove(filepath.Join(dir, name))
		}
		files := map[string][]byte{
			fuzzSources[int(source)%len(fuzzSources)]: data,
			"tokenizer_config.json":                   tokenizerConfig,
			"config.json":                             config,
		}
		size := 0
		for name, b := range files {
			size += len(b)
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		// Padding to config.json's vocab_size may add maxPadding tokens.
		fuzzcheck.Bounded(t, size, 64, maxPadding*512, func() {
			v, err := FromDir(dir)
			if err != nil {
				return
			}
			writeGGUF(t, v)
		})
	})
}

// The fuzz targets' findings, each kept as a test that names it.

func TestFromDirRefusesSizesPastItsTokens(t *testing.T) {
	wordPiece := `{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 1099511627776}}}`
	for name, files := range map[string]map[string]string{
		// The largest id sized the token list: a terabyte of strings.
		"huge id": {"tokenizer.json": wordPiece},
		// Padding to vocab_size made a billion placeholder tokens.
		"huge vocab_size": {"vocab.txt": "[UNK]\n[CLS]\n[SEP]\n", "config.json": `{"vocab_size": 1000000000}`},
	} {
		var err error
		got := fuzzcheck.HeapAllocated(func() { _, err = FromDir(writeDir(t, files)) })
		if err == nil || got > fuzzcheck.Slack {
			t.Errorf("%s: FromDir = %v after allocating %d bytes, want an error and no allocation", name, err, got)
		}
	}
}
