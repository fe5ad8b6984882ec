package tests

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// convertCase is a Hugging Face checkpoint written from seeded weights and
// converted by bin/rerank-api convert.
type convertCase struct {
	name    string
	cfg     testmodel.Config
	opts    testmodel.HFOptions
	outType string
	// check compares a served vector with the reference one.
	maxAbsDiff float64 // 0: not checked
	minCosine  float64 // 0: not checked
	// asArch rewrites config.json's architecture after writing, for
	// architectures that share another's tensor layout.
	asArch string
}

func runConvert(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := binaryPath()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, append([]string{"convert"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("rerank-api convert %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// The converter's promise: a checkpoint converted to GGUF serves the
// embeddings of the exact forward pass on the checkpoint's weights.
func TestConvertedCheckpointsServeReferenceEmbeddings(t *testing.T) {
	bert := testmodel.Tiny(31, "cls")
	xlmr := testmodel.Tiny(32, "mean")
	xlmr.TypeVocab = 1
	// k-quants work on rows of 256 values: a wider model keeps q4_k_m a
	// real 4-bit quantization instead of a fallback.
	wide := testmodel.Tiny(33, "mean")
	wide.Hidden, wide.Intermediate, wide.Heads = 256, 512, 4
	st := func(arch string, dtype checkpoint.DType) testmodel.HFOptions {
		return testmodel.HFOptions{Arch: arch, DType: dtype, SentenceTransformers: true, Tokenizer: "wordpiece", PositionIDs: true}
	}
	cases := []convertCase{
		{name: "bert-f32", cfg: bert, opts: st("BertModel", checkpoint.F32), outType: "f32", maxAbsDiff: tolerance},
		{name: "xlmr-f32", cfg: xlmr, opts: st("XLMRobertaModel", checkpoint.F32), outType: "f32", maxAbsDiff: tolerance},
		{name: "bert-f16", cfg: bert, opts: st("BertModel", checkpoint.F16), outType: "f16", minCosine: 0.9999},
		{name: "xlmr-sharded-bf16", cfg: xlmr, opts: func() testmodel.HFOptions { o := st("XLMRobertaModel", checkpoint.BF16); o.Sharded = true; return o }(), outType: "f32", minCosine: 0.999},
		// sentence-luke / GLuCoSE: LUKE's word encoder is XLM-RoBERTa's (positions
		// from pad+1); entity weights, when present, are dropped.
		{name: "luke-f32", cfg: xlmr, opts: st("XLMRobertaModel", checkpoint.F32), outType: "f32", maxAbsDiff: tolerance, asArch: "LukeModel"},
		{name: "bert-q8_0", cfg: bert, opts: st("BertModel", checkpoint.F32), outType: "q8_0", minCosine: 0.999},
		{name: "wide-q4_k_m", cfg: wide, opts: st("BertModel", checkpoint.F32), outType: "q4_k_m", minCosine: 0.98},
		// q4_0's blocks are 32 wide, so the tiny model quantizes for real
		// (cosine measured ≥ 0.9996).
		{name: "bert-q4_0", cfg: bert, opts: st("BertModel", checkpoint.F32), outType: "q4_0", minCosine: 0.998},
	}

	dir := t.TempDir()
	models := map[string]*testModel{}
	var catalog strings.Builder
	catalog.WriteString("models:\n")
	for _, c := range cases {
		w := testmodel.Generate(c.cfg)
		src := filepath.Join(dir, c.name+"-hf")
		if err := testmodel.WriteHF(src, w, c.cfg, c.opts); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if c.asArch != "" {
			cfgPath := filepath.Join(src, "config.json")
			data, err := os.ReadFile(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			data = []byte(strings.Replace(string(data), `"`+c.opts.Arch+`"`, `"`+c.asArch+`"`, 1))
			if err := os.WriteFile(cfgPath, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		out := runConvert(t, "--input", src, "--output", filepath.Join(dir, c.name+".gguf"), "--outtype", c.outType)
		// Long steps show progress: every tensor converted, then quantized.
		if !strings.Contains(out, "converting") || !strings.Contains(out, "(100%)") ||
			(strings.HasPrefix(c.outType, "q") && !strings.Contains(out, "quantizing")) {
			t.Errorf("%s: no progress in the output:\n%s", c.name, out)
		}
		models[c.name] = &testModel{name: c.name, cfg: c.cfg, weights: w}
		// The minimal entry a user writes: pooling and normalization come
		// from the sentence-transformers files through the GGUF.
		fmt.Fprintf(&catalog, "  - {name: %s, kind: embedding, file: %s.gguf}\n", c.name, c.name)
	}
	sp := serveCatalog(t, true, dir, catalog.String(), "--embedding-model", cases[0].name, "--reranker-model", "")

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := models[c.name]
			var resp api.OpenAIEmbeddingResponse
			if r := sp.post(t, "/v1/embeddings", map[string]any{"model": c.name, "input": texts}, &resp); r.StatusCode != 200 {
				t.Fatalf("status %d", r.StatusCode)
			}
			for i, text := range texts {
				got := floats(t, resp.Data[i].Embedding)
				want := m.expectedEmbedding(m.ids(text), 0)
				if c.maxAbsDiff > 0 {
					if d := maxAbsDiff(t, got, want); d > c.maxAbsDiff {
						t.Errorf("input %d: max abs diff %.2e > %.0e", i, d, c.maxAbsDiff)
					}
				}
				if c.minCosine > 0 {
					if cos := cosine(got, want); cos < c.minCosine {
						t.Errorf("input %d: cosine %.6f < %v", i, cos, c.minCosine)
					}
				}
			}
		})
	}
}

func TestConvertRejectsUnsupportedArchitecture(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"architectures": ["DebertaV2ForSequenceClassification"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	bin, err := binaryPath()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "convert", "--input", dir, "--output", filepath.Join(dir, "x.gguf")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "DebertaV2ForSequenceClassification") || !strings.Contains(string(out), "BertModel") {
		t.Fatalf("want an error naming the architecture and the supported ones, got %v:\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.gguf")); err == nil {
		t.Error("a failed conversion left an output file")
	}
}

func cosine(a []float32, b []float64) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * b[i]
		na += float64(a[i]) * float64(a[i])
		nb += b[i] * b[i]
	}
	return dot / math.Sqrt(na*nb)
}
