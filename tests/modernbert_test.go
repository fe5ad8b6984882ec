package tests

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
	"github.com/rerank-api/rerank-api/internal/reference"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// ruri-v3 and a ModernBERT cross-encoder in miniature: checkpoints in
// transformers' layout convert to rerank-api's "modernbert" GGUF and serve
// through the ggml encoder as the exact forward pass, on /v1/embeddings
// (token-id inputs, so the sequences are exactly what the test chooses:
// several windows long, and of mixed lengths in one request) and
// /v1/rerank (text, through llama.cpp's Unigram tokenizer read from the
// same GGUF).
func TestModernBERTServesExactly(t *testing.T) {
	dir := t.TempDir()
	embedCfg, rankCfg := testmodel.TinyModernBERT(71, "mean"), testmodel.TinyModernBERT(72, "rank")
	embedder, ranker := testmodel.GenerateModernBERT(embedCfg), testmodel.GenerateModernBERT(rankCfg)
	for name, m := range map[string]struct {
		cfg testmodel.ModernBERTConfig
		ref *reference.ModernBERT
	}{"ruri-tiny": {embedCfg, embedder}, "modernbert-rank": {rankCfg, ranker}} {
		src := filepath.Join(dir, name+"-hf")
		if err := testmodel.WriteModernBERTHF(src, m.ref, m.cfg); err != nil {
			t.Fatal(err)
		}
		if m.ref == ranker {
			useRuriPostProcessor(t, src)
		}
		runConvert(t, "--input", src, "--output", filepath.Join(dir, name+".gguf"), "--outtype", "f32")
	}
	checkModernBERTMetadata(t, filepath.Join(dir, "ruri-tiny.gguf"))
	if md, err := gguf.ReadMetadata(filepath.Join(dir, "modernbert-rank.gguf")); err != nil {
		t.Fatal(err)
	} else if got, _ := md.Value(keys.PairTemplate); got != fmt.Sprintf("%d:0 $A:0 %d:0 %[1]d:1 $B:1 %[2]d:1", testmodel.CLSID, testmodel.SEPID) {
		t.Errorf("%s = %v, want ruri's <s> A </s> <s> B </s>", keys.PairTemplate, got)
	}
	catalog := "models:\n" +
		"  - {name: ruri-tiny, kind: embedding, file: ruri-tiny.gguf}\n" +
		"  - {name: modernbert-rank, kind: rerank, file: modernbert-rank.gguf}\n"
	sp := serveCatalog(t, true, dir, catalog, "--embedding-model", "ruri-tiny", "--reranker-model", "modernbert-rank")

	t.Run("embeddings", func(t *testing.T) {
		r := rand.New(rand.NewPCG(71, 1))
		var inputs [][]int32
		for _, n := range []int{1, 5, 60, 9, 200, 33} { // ±4-token windows: the long ones span many
			seq := make([]int32, n)
			for i := range seq {
				seq[i] = int32(r.IntN(embedder.VocabSize()))
			}
			inputs = append(inputs, seq)
		}
		var resp api.OpenAIEmbeddingResponse
		if r := sp.post(t, "/v1/embeddings", map[string]any{"model": "ruri-tiny", "input": inputs}, &resp); r.StatusCode != http.StatusOK {
			t.Fatalf("status %d", r.StatusCode)
		}
		if len(resp.Data) != len(inputs) {
			t.Fatalf("%d embeddings for %d inputs", len(resp.Data), len(inputs))
		}
		worst := 0.0
		for i, seq := range inputs {
			// ruri-v3's sentence-transformers modules: mean pooling, then Normalize.
			want := reference.Normalize(reference.Pool(embedder.Hidden(seq), reference.PoolMean))
			d := maxAbsDiff(t, floats(t, resp.Data[i].Embedding), want)
			worst = max(worst, d)
			if d > tolerance {
				t.Errorf("input %d (%d tokens): max abs diff %.2e > %.0e", i, len(seq), d, tolerance)
			}
		}
		t.Logf("max |embedding − reference| = %.2e", worst)
	})

	t.Run("rerank", func(t *testing.T) {
		m := &testModel{name: "modernbert-rank", cfg: rankCfg.Config}
		query := m.words(rerankQuery)
		want := make([]float64, len(rerankDocs))
		tokens, layouts := 0, 0.0
		for i, doc := range rerankDocs {
			ids := ruriPair(query, m.words(doc))
			want[i] = 1 / (1 + math.Exp(-ranker.Classify(ids)[0]))
			tokens += len(ids)
			roberta, _ := m.pair(query, m.words(doc)) // "<s> q </s></s> d </s>"
			layouts = max(layouts, math.Abs(want[i]-1/(1+math.Exp(-ranker.Classify(roberta)[0]))))
		}
		// Serving the RoBERTa layout instead of the checkpoint's template
		// must fail this test: no score can be within tolerance of both.
		if layouts <= 2*tolerance {
			t.Fatalf("the two pair layouts score within %.1e of each other; the test cannot tell them apart", layouts)
		}
		var resp api.CohereRerankResponse
		body := map[string]any{"model": "modernbert-rank", "query": rerankQuery, "documents": rerankDocs}
		if r := sp.post(t, "/v1/rerank", body, &resp); r.StatusCode != http.StatusOK {
			t.Fatalf("status %d", r.StatusCode)
		}
		t.Logf("max |score − reference| = %.2e", checkScores(t, resp, want, tolerance))
		if resp.Usage == nil || resp.Usage.TotalTokens != tokens {
			t.Errorf("usage %+v, want %d tokens", resp.Usage, tokens)
		}
	})
}

// checkModernBERTMetadata checks what outputs alone would not show: ruri-v3's
// prompts and ModernBERT's attention pattern went into the GGUF.
func checkModernBERTMetadata(t *testing.T, path string) {
	t.Helper()
	md, err := gguf.ReadMetadata(path)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]any{
		"general.architecture":      keys.ModernBERTArch,
		keys.ModernBERTGlobalEvery:  uint32(3),
		keys.ModernBERTWindow:       uint32(8),
		keys.ModernBERTLocalTheta:   float32(10000),
		"modernbert.rope.freq_base": float32(160000),
		"modernbert.pooling_type":   uint32(1),
		keys.QueryPrefix:            testmodel.RuriV3Prompts["query"],
		keys.DocumentPrefix:         testmodel.RuriV3Prompts["document"],
		keys.Normalize:              true,
	} {
		if got, ok := md.Value(key); !ok || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v (present %v), want %v", key, got, ok, want)
		}
	}
}

// useRuriPostProcessor gives the checkpoint at dir the post_processor of
// cl-nagoya/ruri-v3-30m's real tokenizer.json (modernbert-ja's, whose pair
// is "<s> A </s> <s> B </s>", neither BERT's nor RoBERTa's), with <s> and
// </s> at the test vocabulary's ids.
func useRuriPostProcessor(t *testing.T, dir string) {
	t.Helper()
	var real, tok map[string]any
	path := filepath.Join(dir, "tokenizer.json")
	for file, v := range map[string]*map[string]any{"../testdata/tokenizers/ruri-v3-30m/tokenizer-excerpt.json": &real, path: &tok} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	pp := real["post_processor"].(map[string]any)
	specials := pp["special_tokens"].(map[string]any)
	for name, id := range map[string]int32{"<s>": testmodel.CLSID, "</s>": testmodel.SEPID} {
		specials[name].(map[string]any)["ids"] = []int32{id}
	}
	tok["post_processor"] = pp
	raw, err := json.Marshal(tok)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// ruriPair is the pair ruri's post_processor builds from query and doc.
func ruriPair(query, doc []int32) []int32 {
	ids := append(append([]int32{testmodel.CLSID}, query...), testmodel.SEPID, testmodel.CLSID)
	return append(append(ids, doc...), testmodel.SEPID)
}
