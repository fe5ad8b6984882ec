package tests

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// writeSPLADE writes a random BertForMaskedLM (decoder tied to the word
// embeddings or not) to dir/name-hf and converts it to dir/name.gguf,
// its masked-LM head to dir/name.heads.gguf.
func writeSPLADE(t *testing.T, dir, name string, cfg testmodel.Config, tied bool, tokenizerConfig map[string]any) *testModel {
	t.Helper()
	w := testmodel.GenerateSPLADE(cfg, tied)
	src := filepath.Join(dir, name+"-hf")
	opts := testmodel.HFOptions{Arch: "BertForMaskedLM", DType: checkpoint.F32, Tokenizer: "wordpiece"}
	if tokenizerConfig != nil {
		opts.Tokenizer = ""
	}
	if err := testmodel.WriteHF(src, w, cfg, opts); err != nil {
		t.Fatal(err)
	}
	if tokenizerConfig != nil {
		if err := testmodel.WriteHFTokenizerConfig(src, cfg, tokenizerConfig, nil); err != nil {
			t.Fatal(err)
		}
	}
	runConvert(t, "--input", src, "--output", filepath.Join(dir, name+".gguf"), "--outtype", "f32")
	return &testModel{name: name, cfg: cfg, weights: w}
}

// spladeZero is the weight below which an entry may be present or not:
// llama.cpp's rounding of the token states (tolerance's ~1e-4..1e-3)
// moves a logit that close to zero across it. Absent is weight 0, within
// tolerance of such a reference. On a random model with 32768 entries,
// nearly all of them above zero, a few land there (measured up to 1.1e-4);
// real SPLADE models push unused entries far below zero.
const spladeZero = 1e-3

// checkSPLADE compares one input's sparse vector with the reference's:
// the same token ids by increasing id (but for weights under spladeZero),
// each weight within tolerance.
func checkSPLADE(t *testing.T, text string, got []api.TEISparseValue, want map[int32]float64) {
	t.Helper()
	var ids []int32
	worst := 0.0
	seen := map[int32]bool{}
	for _, v := range got {
		ids = append(ids, v.Index)
		seen[v.Index] = true
		w, ok := want[v.Index]
		if !ok && v.Value >= spladeZero {
			t.Errorf("%q: token %d weighs %.6f, the reference leaves it out", text, v.Index, v.Value)
		}
		worst = math.Max(worst, math.Abs(float64(v.Value)-w))
	}
	for id, w := range want {
		if !seen[id] && w >= spladeZero {
			t.Errorf("%q: token %d is missing, the reference weighs it %.6f", text, id, w)
		}
	}
	if worst > tolerance {
		t.Errorf("%q: weights differ from the reference by up to %.2e", text, worst)
	}
	if !slices.IsSorted(ids) || len(ids) == 0 {
		t.Errorf("%q: %d token ids, not sorted by id or none", text, len(ids))
	}
}

var spladeTexts = []string{"the dog near the river in winter", "the cat is on the table", "a", m3Docs[3]}

// SPLADE checkpoints (BertForMaskedLM, decoder tied or not) convert and
// serve /embed_sparse and /v1/embeddings' sparse output as naver's SPLADE
// computes them; a dense request, or a rerank by the model, is a 422
// naming /embed_sparse.
func TestSPLADE(t *testing.T) {
	dir := t.TempDir()
	models := map[string]*testModel{
		"splade-tied":   writeSPLADE(t, dir, "splade-tied", testmodel.Tiny(81, "cls"), true, nil),
		"splade-untied": writeSPLADE(t, dir, "splade-untied", testmodel.Tiny(82, "cls"), false, nil),
	}
	catalog := "models:\n  - {name: splade-tied, kind: embedding, file: splade-tied.gguf, outputs: [sparse]}\n" +
		"  - {name: splade-untied, kind: embedding, file: splade-untied.gguf}\n"
	sp := serveCatalog(t, true, dir, catalog, "--embedding-model", "splade-tied", "--reranker-model", "")
	for name, m := range models {
		t.Run(name, func(t *testing.T) {
			var got [][]api.TEISparseValue
			if r := sp.post(t, "/embed_sparse", map[string]any{"inputs": spladeTexts, "model": name}, &got); r.StatusCode != http.StatusOK {
				t.Fatalf("status %d", r.StatusCode)
			}
			for i, text := range spladeTexts {
				checkSPLADE(t, text, got[i], m.weights.SPLADE(m.ids(text)))
			}
		})
	}
	t.Run("v1/embeddings outputs sparse", func(t *testing.T) {
		var resp api.OpenAIEmbeddingResponse
		body := map[string]any{"model": "splade-untied", "input": spladeTexts[:2], "outputs": []string{"sparse"}}
		if r := sp.post(t, "/v1/embeddings", body, &resp); r.StatusCode != http.StatusOK {
			t.Fatalf("status %d", r.StatusCode)
		}
		m := models["splade-untied"]
		for i, text := range spladeTexts[:2] {
			checkSPLADE(t, text, resp.Data[i].Sparse, m.weights.SPLADE(m.ids(text)))
		}
	})
	for _, c := range []struct {
		path string
		body map[string]any
	}{
		{"/v1/embeddings", map[string]any{"input": "the dog"}},
		{"/embed", map[string]any{"inputs": "the dog"}},
		{"/v1/embeddings", map[string]any{"input": "the dog", "outputs": []string{"sparse", "dense"}}},
		{"/v1/rerank", map[string]any{"model": "splade-tied", "query": "the dog", "documents": []string{"the cat"}}},
	} {
		t.Run(fmt.Sprintf("dense on %s is 422", c.path), func(t *testing.T) {
			var raw json.RawMessage
			r := sp.post(t, c.path, c.body, &raw)
			if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(raw), "/embed_sparse") {
				t.Errorf("status %d, body %s: want 422 naming /embed_sparse", r.StatusCode, raw)
			}
		})
	}
}

// A Japanese SPLADE (japanese-splade-v2's shape: BertForMaskedLM with
// bert-base-japanese-v3's vocabulary and BertJapaneseTokenizer) is
// tokenized by MeCab + WordPiece and its sparse vectors are the
// reference's on those ids.
func TestJapaneseSPLADE(t *testing.T) {
	vocab := jaVocab(t)
	index := map[string]int32{}
	for i, tok := range vocab {
		index[tok] = int32(i)
	}
	cfg := testmodel.Tiny(83, "cls")
	cfg.Vocab = vocab
	tokenizerConfig := map[string]any{
		"tokenizer_class": "BertJapaneseTokenizer", "model_max_length": 64, "do_lower_case": false,
		"word_tokenizer_type": "mecab", "subword_tokenizer_type": "wordpiece",
		"mecab_kwargs": map[string]any{"mecab_dic": "unidic_lite"},
	}
	dir := t.TempDir()
	m := writeSPLADE(t, dir, "ja-splade", cfg, true, tokenizerConfig)
	t.Setenv("MECAB_DICDIR", debianUniDic)
	sp := serveCatalog(t, true, dir, "models:\n  - {name: ja-splade, kind: embedding, file: ja-splade.gguf, outputs: [sparse]}\n",
		"--embedding-model", "ja-splade", "--reranker-model", "")
	texts := jaTexts[:3]
	var got [][]api.TEISparseValue
	if r := sp.post(t, "/embed_sparse", map[string]any{"inputs": texts}, &got); r.StatusCode != http.StatusOK {
		t.Fatalf("status %d", r.StatusCode)
	}
	oracle := jaOracle{debianUniDic, index}
	for i, text := range texts {
		ids := append(append([]int32{testmodel.CLSID}, oracle.ids(t, text)...), testmodel.SEPID)
		checkSPLADE(t, text, got[i], m.weights.SPLADE(ids))
	}
}
