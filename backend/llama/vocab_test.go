package llama

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/vocab"
)

// These tests convert real tokenizers with convert/vocab, load the result
// vocab-only, and compare llama.cpp's tokenization with ids made elsewhere:
// llama.cpp's own tokenizer tests (models/ggml-vocab-*.gguf with .inp/.out)
// and Debian's libsentencepiece. The reference GGUFs run through the same
// harness, so a failure there is the harness's, not the converter's.

// refData is the repository's testdata/: files written by other projects,
// each with its origin and licence (testdata/SOURCES.tsv).
const refData = "../../testdata"

type tokenCase struct {
	text string
	ids  []int32
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reference data missing: %v", err)
	}
	return string(data)
}

// llamaCppCases reads one of llama.cpp's tokenizer tests as
// tests/test-tokenizer-0.cpp does: in .inp every text is followed by
// "\n__ggml_vocab_test__\n"; .out has one line of ids per text.
func llamaCppCases(t *testing.T, inp string) []tokenCase {
	t.Helper()
	texts := strings.Split(readFile(t, inp), "\n__ggml_vocab_test__\n")
	texts = texts[:len(texts)-1] // what follows the last separator is no test
	lines := strings.Split(strings.TrimSuffix(readFile(t, strings.TrimSuffix(inp, ".inp")+".out"), "\n"), "\n")
	if len(lines) != len(texts) {
		t.Fatalf("%s: %d texts but %d lines of ids", inp, len(texts), len(lines))
	}
	cases := make([]tokenCase, len(texts))
	for i, text := range texts {
		cases[i].text = text
		for _, f := range strings.Fields(lines[i]) {
			id, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("%s line %d: %v", inp, i+1, err)
			}
			cases[i].ids = append(cases[i].ids, int32(id))
		}
	}
	return cases
}

// spGolden reads the ids libsentencepiece gave for a model's texts
// (sp.encode, no BOS/EOS): the ten of sp-golden-generated.json, and the 490
// of convert/vocab/testdata/sp-more-golden.json (see sp_more_golden.py
// there): sentences of JSTS and STS-benchmark, kept once in testdata/eval
// and referred to by index, random runs of pieces, repeated characters.
func spGolden(t *testing.T, model string) (golden, more []tokenCase) {
	t.Helper()
	var g struct {
		Models map[string]struct {
			Cases []struct {
				Text string
				IDs  []int32
			}
		}
	}
	var m struct {
		Models map[string][]struct {
			Text      *string
			JSTS, STS *int
			IDs       []int32
		}
	}
	for path, v := range map[string]any{filepath.Join(refData, "sentencepiece/sp-golden-generated.json"): &g,
		"../../convert/vocab/testdata/sp-more-golden.json": &m} {
		if err := json.Unmarshal([]byte(readFile(t, path)), v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	for _, c := range g.Models[model].Cases {
		golden = append(golden, tokenCase{c.Text, c.IDs})
	}
	// JSTS: sentence1 and sentence2 line by line; STS-benchmark: the 6th
	// and 7th tab-separated fields.
	var jsts, sts []string
	for _, line := range strings.Split(strings.TrimSpace(readFile(t, filepath.Join(refData, "eval/jglue/datasets/jsts-v1.3/valid-v1.3.json"))), "\n") {
		var pair struct{ Sentence1, Sentence2 string }
		if err := json.Unmarshal([]byte(line), &pair); err != nil {
			t.Fatal(err)
		}
		jsts = append(jsts, pair.Sentence1, pair.Sentence2)
	}
	for _, line := range strings.Split(readFile(t, filepath.Join(refData, "eval/stsbenchmark/sts-test.csv")), "\n") {
		if f := strings.Split(line, "\t"); len(f) >= 7 {
			sts = append(sts, f[5], f[6])
		}
	}
	for _, c := range m.Models[model] {
		switch {
		case c.Text != nil:
			more = append(more, tokenCase{*c.Text, c.IDs})
		case c.JSTS != nil:
			more = append(more, tokenCase{jsts[*c.JSTS], c.IDs})
		case c.STS != nil:
			more = append(more, tokenCase{sts[*c.STS], c.IDs})
		}
	}
	if len(golden) == 0 || len(more) == 0 {
		t.Fatalf("no golden ids for %s", model)
	}
	return golden, more
}

func loadVocab(t *testing.T, path string) *Model {
	t.Helper()
	quietLlamaLog(t)
	Init("")
	m, err := LoadModel(path, ModelParams{VocabOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// writeVocab writes v as a vocab-only GGUF. A vocab-only load reads no
// hyperparameters and the same vocabulary loader serves every
// architecture, so the architecture's name is all it needs besides the
// tokenizer; "bert" is also what XLM-R models (bge-m3) with a UGM
// vocabulary use.
func writeVocab(t *testing.T, v *vocab.Vocab) string {
	t.Helper()
	w := gguf.NewWriter()
	w.AddKV("general.architecture", "bert")
	if err := v.WriteGGUF(w); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "vocab.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkCases tokenizes every text as test-tokenizer-0 does (no special
// tokens added or parsed) and reports each text whose ids differ. With
// allowTies, the expected ids in another order are counted, not failed: the
// same pieces score the same, and llama.cpp's UGM keeps the first best
// segmentation it finds where libsentencepiece may keep another
// ("......." is "▁" "." "......" in llama.cpp, "▁" "......" "." in
// libsentencepiece 0.1.97).
func checkCases(t *testing.T, name string, m *Model, cases []tokenCase, allowTies bool) {
	t.Helper()
	same, ties := 0, 0
	for _, c := range cases {
		got, err := m.Tokenize(c.text, false, false)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case slices.Equal(got, c.ids):
			same++
		case allowTies && slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(c.ids))):
			ties++
			t.Logf("%s: %q: tie: llama.cpp %q, expected %q", name, c.text, pieces(m, got), pieces(m, c.ids))
		default:
			t.Errorf("%s: %q\n got %v %q\nwant %v %q", name, c.text, got, pieces(m, got), c.ids, pieces(m, c.ids))
		}
	}
	t.Logf("%s: %d/%d texts identical, %d equal-score ties in another order", name, same, len(cases), ties)
}

func pieces(m *Model, ids []int32) []string {
	texts := make([]string, len(ids))
	for i, id := range ids {
		texts[i] = m.TokenText(id)
	}
	return texts
}

// tokenizerKVs reads a GGUF's tokenizer.* metadata.
func tokenizerKVs(t *testing.T, path string) map[string]any {
	t.Helper()
	md, err := gguf.ReadMetadata(path)
	if err != nil {
		t.Fatal(err)
	}
	kvs := map[string]any{}
	for _, kv := range md.KVs {
		if strings.HasPrefix(kv.Key, "tokenizer.") {
			kvs[kv.Key] = kv.Value
		}
	}
	return kvs
}

func TestVocabBertMatchesLlamaCppTests(t *testing.T) {
	refPath := filepath.Join(refData, "llama.cpp/models/ggml-vocab-bert-bge.gguf")
	v, err := vocab.FromDir(filepath.Join(refData, "tokenizers/all-MiniLM-L6-v2"))
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Warnings) > 0 {
		t.Errorf("uncased bert-base vocabulary: unexpected warnings %q", v.Warnings)
	}
	path := writeVocab(t, v)
	ours, ref := tokenizerKVs(t, path), tokenizerKVs(t, refPath)
	for _, key := range []string{"tokenizer.ggml.tokens", "tokenizer.ggml.token_type"} {
		if !reflect.DeepEqual(ours[key], ref[key]) {
			t.Errorf("%s differs from the reference GGUF's", key)
		}
	}
	converted, reference := loadVocab(t, path), loadVocab(t, refPath)
	for _, inp := range []string{"llama.cpp/models/ggml-vocab-bert-bge.gguf.inp", "llama.cpp/models-newer-inp/ggml-vocab-bert-bge.gguf.inp"} {
		cases := llamaCppCases(t, filepath.Join(refData, inp))
		checkCases(t, "reference "+inp, reference, cases, false)
		checkCases(t, "converted "+inp, converted, cases, false)
	}
	// With specials, llama.cpp's WPM wraps the text in [CLS] ... [SEP].
	if got, _ := converted.Tokenize("hello world", true, false); !slices.Equal(got, []int32{101, 7592, 2088, 102}) {
		t.Errorf("with specials: %v", got)
	}
}

// sentencePieceDir lays out a model directory holding the real model under
// name, plus the given side files.
func sentencePieceDir(t *testing.T, model, name string, files map[string]string) string {
	t.Helper()
	files[name] = readFile(t, filepath.Join(refData, "sentencepiece", model))
	dir := t.TempDir()
	for file, content := range files {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestVocabUnigramMatchesSentencePiece(t *testing.T) {
	for _, model := range []string{"test_model.model", "test_ja_model.model"} {
		t.Run(model, func(t *testing.T) {
			v, err := vocab.FromDir(sentencePieceDir(t, model, "tokenizer.model", map[string]string{}))
			if err != nil {
				t.Fatal(err)
			}
			if v.Model != vocab.ModelUGM || len(v.PrecompiledCharsmap) == 0 {
				t.Fatalf("model %q with a %d-byte charsmap, want t5 with nfkc's", v.Model, len(v.PrecompiledCharsmap))
			}
			m := loadVocab(t, writeVocab(t, v))
			golden, more := spGolden(t, model)
			checkCases(t, "sp-golden-generated "+model, m, golden, false)
			checkCases(t, "sp-more-golden "+model, m, more, true)
			// T5's convention: </s> after the text, nothing before.
			if got, _ := m.Tokenize("Hello World!", true, false); got[len(got)-1] != 2 || got[0] == 1 {
				t.Errorf("with specials: %v", got)
			}
		})
	}
}

// XLM-R ships sentencepiece.bpe.model; transformers renumbers its pieces
// (fairseq): <s> <pad> </s> <unk> first, then piece i at i+1, <mask> last.
// Applied to a real SentencePiece model, libsentencepiece's ids shifted
// that way are the expected ids.
func TestVocabXLMRobertaLayoutMatchesSentencePiece(t *testing.T) {
	const model = "test_model.model"
	v, err := vocab.FromDir(sentencePieceDir(t, model, "sentencepiece.bpe.model",
		map[string]string{"tokenizer_config.json": `{"tokenizer_class": "XLMRobertaTokenizer"}`}))
	if err != nil {
		t.Fatal(err)
	}
	m := loadVocab(t, writeVocab(t, v))
	golden, more := spGolden(t, model)
	var cases []tokenCase
	for _, c := range append(golden, more...) {
		ids := make([]int32, len(c.ids))
		for i, id := range c.ids {
			ids[i] = id + 1
			if id == 0 { // SentencePiece's <unk> is fairseq's 3
				ids[i] = 3
			}
		}
		cases = append(cases, tokenCase{c.text, ids})
	}
	checkCases(t, "xlm-r layout of "+model, m, cases, true)
	for id, text := range map[int32]string{0: "<s>", 1: "<pad>", 2: "</s>", 3: "<unk>", 4: v.Tokens[4], 1001: "<mask>"} {
		if got := m.TokenText(id); got != text {
			t.Errorf("token %d = %q, want %q", id, got, text)
		}
	}
	if got, _ := m.Tokenize("Hello World!", true, false); got[0] != 0 || got[len(got)-1] != 2 {
		t.Errorf("with specials: %v, want <s> ... </s>", got)
	}
}

// The tiny T5 checkpoint's tokenizer.json (Unigram with a Precompiled
// normalizer) has no independent ids to compare with; it must load, keep
// every piece, and tokenize plain words into pieces that spell them.
func TestVocabT5TokenizerJSON(t *testing.T) {
	v, err := vocab.FromDir(filepath.Join(refData, "tiny-models/T5ForConditionalGeneration"))
	if err != nil {
		t.Fatal(err)
	}
	m := loadVocab(t, writeVocab(t, v))
	if m.Info.VocabSize != len(v.Tokens) || m.Info.EOS != 1 {
		t.Fatalf("vocab size %d, eos %d; want %d, 1", m.Info.VocabSize, m.Info.EOS, len(v.Tokens))
	}
	for id, tok := range v.Tokens {
		if got := m.TokenText(int32(id)); got != tok {
			t.Fatalf("token %d = %q, want %q", id, got, tok)
		}
	}
	for _, text := range []string{"Hello world", "  the   quick brown fox ", "translate English to German: That is good."} {
		ids, err := m.Tokenize(text, true, false)
		if err != nil {
			t.Fatal(err)
		}
		var spelled strings.Builder
		for _, id := range ids[:len(ids)-1] {
			if id == v.UNK {
				t.Fatalf("%q: unknown piece in %v", text, ids)
			}
			spelled.WriteString(m.TokenText(id))
		}
		want := "▁" + strings.Join(strings.Fields(text), "▁")
		if spelled.String() != want || ids[len(ids)-1] != 1 {
			t.Errorf("%q: pieces %q spell %q, want %q then </s>", text, pieces(m, ids), spelled.String(), want)
		}
	}
}

// We have llama.cpp's Llama SPM vocabulary but not the tokenizer.model it
// came from. Writing its pieces back into a SentencePiece BPE model like
// Llama's (identity normalizer, no whitespace removal, byte fallback) and
// converting that must reproduce the reference's metadata and its ids.
func TestVocabLlamaSPM(t *testing.T) {
	refPath := filepath.Join(refData, "llama.cpp/models/ggml-vocab-llama-spm.gguf")
	cases := llamaCppCases(t, refPath+".inp")
	checkCases(t, "reference llama-spm", loadVocab(t, refPath), cases, false)

	ref := tokenizerKVs(t, refPath)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.model"), sentencePieceBPE(ref), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := vocab.FromDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := writeVocab(t, v)
	ours := tokenizerKVs(t, path)
	for _, kvs := range []map[string]any{ours, ref} {
		for key := range kvs {
			if !reflect.DeepEqual(ours[key], ref[key]) {
				t.Errorf("%s: %T %.40v, reference %T %.40v", key, ours[key], fmt.Sprint(ours[key]), ref[key], fmt.Sprint(ref[key]))
			}
		}
	}
	checkCases(t, "converted llama-spm", loadVocab(t, path), cases, false)
}

// sentencePieceBPE encodes an SPM vocabulary's metadata as a SentencePiece
// ModelProto (sentencepiece_model.proto) of type BPE.
func sentencePieceBPE(kvs map[string]any) []byte {
	scores, types := kvs["tokenizer.ggml.scores"].([]float32), kvs["tokenizer.ggml.token_type"].([]int32)
	message := func(b []byte, num protowire.Number, body []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), body)
	}
	varint := func(b []byte, num protowire.Number, v uint64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), v)
	}
	var b []byte
	for i, tok := range kvs["tokenizer.ggml.tokens"].([]string) {
		p := message(nil, 1, []byte(tok))
		p = protowire.AppendFixed32(protowire.AppendTag(p, 2, protowire.Fixed32Type), math.Float32bits(scores[i]))
		b = message(b, 1, varint(p, 3, uint64(types[i])))
	}
	b = message(b, 2, varint(varint(nil, 3, 2), 35, 1))                     // trainer: model_type BPE, byte_fallback
	return message(b, 3, varint(message(nil, 1, []byte("identity")), 4, 0)) // normalizer: remove_extra_whitespaces off
}
