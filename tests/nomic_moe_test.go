package tests

import (
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/convert/keys"
	"github.com/rerank-api/rerank-api/internal/reference"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// minRouterGap is the smallest margin between the k-th and the next
// router logit the test inputs may have: llama.cpp's f32 logits are within
// ~1e-5 of the reference's, so above this margin both choose the same
// experts and a tie cannot decide the test.
const minRouterGap = 1e-3

// nomic-embed-text-v2-moe in miniature: a checkpoint in its real layout
// (nomic-bert-2048's names, megablocks expert stacks, XLM-R's Unigram
// tokenizer, mean pooling and the search_query/search_document prompts)
// converts to llama.cpp's nomic-bert-moe and serves the float64 reference
// of the HF code's forward pass, router softmax and un-renormalized top-k
// included, with the prompts applied per input_type and Matryoshka
// dimensions as the catalog allows them.
func TestNomicEmbedV2MoEServesExactly(t *testing.T) {
	dir := t.TempDir()
	cfg := testmodel.TinyNomicMoE(81)
	m := testmodel.GenerateNomicMoE(cfg)
	src := filepath.Join(dir, "nomic-hf")
	if err := testmodel.WriteNomicMoEHF(src, m, cfg); err != nil {
		t.Fatal(err)
	}
	if out := runConvert(t, "--input", src, "--output", filepath.Join(dir, "nomic-tiny.gguf"), "--outtype", "f32"); strings.Contains(out, "experts.bias") {
		t.Errorf("a zero expert bias was reported as dropped:\n%s", out)
	}
	checkNomicMetadata(t, filepath.Join(dir, "nomic-tiny.gguf"), cfg)

	catalog := "models:\n  - {name: nomic-tiny, kind: embedding, file: nomic-tiny.gguf, matryoshka: true, min_dimensions: 32}\n"
	sp := serveCatalog(t, true, dir, catalog, "--embedding-model", "nomic-tiny", "--reranker-model", "")
	texts := []string{
		"the dog near the river in winter",
		"dog",
		"winter snow on the mountain and the river in the morning with the cat on the table",
		"search query document passage",
	}
	tm := &testModel{name: "nomic-tiny", cfg: cfg.Config}
	for _, tc := range []struct {
		inputType string
		prefix    string
		dims      int
	}{
		{"", "", 0},
		{"query", testmodel.NomicMoEPrompts["query"], 0},
		{"search_document", testmodel.NomicMoEPrompts["passage"], 0},
		{"query", testmodel.NomicMoEPrompts["query"], 32},
	} {
		t.Run(fmt.Sprintf("input_type=%q dimensions=%d", tc.inputType, tc.dims), func(t *testing.T) {
			checkEmbeddings(t, sp, "nomic-tiny", texts, tc.inputType, tc.dims, func(text string) []float64 {
				ids := tm.ids(tc.prefix + text)
				if gap := m.MinRouterGap(ids); gap < minRouterGap {
					t.Fatalf("%q: router logits within %.1e of a tie; pick another seed", text, gap)
				}
				want := reference.Pool(m.Hidden(ids), reference.PoolMean)
				if tc.dims > 0 {
					want = want[:tc.dims]
				}
				return reference.Normalize(want)
			})
		})
	}
	t.Run("TEI prompt_name passage", func(t *testing.T) {
		var got [][]float32
		body := map[string]any{"inputs": texts[0], "prompt_name": "passage"}
		if r := sp.post(t, "/embed", body, &got); r.StatusCode != http.StatusOK || len(got) != 1 {
			t.Fatalf("status %d, %d vectors", r.StatusCode, len(got))
		}
		want := reference.Normalize(reference.Pool(m.Hidden(tm.ids(testmodel.NomicMoEPrompts["passage"]+texts[0])), reference.PoolMean))
		if d := maxAbsDiff(t, got[0], want); d > tolerance {
			t.Errorf("max abs diff %.2e > %.0e", d, tolerance)
		}
	})
	t.Run("dimensions below min_dimensions", func(t *testing.T) {
		body := map[string]any{"model": "nomic-tiny", "input": texts[0], "dimensions": 16}
		if r := sp.post(t, "/v1/embeddings", body, nil); r.StatusCode != http.StatusBadRequest {
			t.Errorf("dimensions 16 below min_dimensions 32: status %d, want 400", r.StatusCode)
		}
	})
	t.Run("renormalized top-k is told apart", func(t *testing.T) {
		// Mixtral-style gating (top-k weights summing to 1) moves the
		// embedding far beyond the tolerance, so the comparisons above
		// pin the gating the HF code uses.
		ids := tm.ids(texts[0])
		renorm := *m
		renorm.Layers = slices.Clone(m.Layers)
		for i, l := range renorm.Layers {
			if l.Experts != nil {
				e := *l.Experts
				e.Renormalize = true
				renorm.Layers[i].Experts = &e
			}
		}
		want := reference.Normalize(reference.Pool(m.Hidden(ids), reference.PoolMean))
		other := reference.Normalize(reference.Pool(renorm.Hidden(ids), reference.PoolMean))
		d := 0.0
		for i := range want {
			d = max(d, math.Abs(want[i]-other[i]))
		}
		if d < 5*tolerance {
			t.Errorf("renormalized gating moves the embedding by only %.2e", d)
		}
	})
}

// A checkpoint whose shared expert bias is not zero converts with a note
// naming the tensor: llama.cpp's graph has nowhere to add it.
func TestNomicEmbedV2MoEExpertBiasIsReported(t *testing.T) {
	dir := t.TempDir()
	cfg := testmodel.TinyNomicMoE(82)
	cfg.ExpertBias = true
	src := filepath.Join(dir, "nomic-hf")
	if err := testmodel.WriteNomicMoEHF(src, testmodel.GenerateNomicMoE(cfg), cfg); err != nil {
		t.Fatal(err)
	}
	out := runConvert(t, "--input", src, "--output", filepath.Join(dir, "nomic.gguf"), "--outtype", "f32")
	if !strings.Contains(out, "encoder.layers.1.mlp.experts.bias") {
		t.Errorf("no note about the dropped expert bias:\n%s", out)
	}
}

// checkNomicMetadata checks what llama.cpp reads the MoE layout from and
// what the served prompts come from.
func checkNomicMetadata(t *testing.T, path string, cfg testmodel.NomicMoEConfig) {
	t.Helper()
	checkGGUFValues(t, path, map[string]any{
		"general.architecture":              "nomic-bert-moe",
		"nomic-bert-moe.expert_count":       uint32(cfg.Experts),
		"nomic-bert-moe.expert_used_count":  uint32(cfg.TopK),
		"nomic-bert-moe.moe_every_n_layers": uint32(cfg.MoEEvery),
		"nomic-bert-moe.pooling_type":       uint32(1),
		"nomic-bert-moe.rope.freq_base":     float32(10000),
		keys.QueryPrefix:                    testmodel.NomicMoEPrompts["query"],
		keys.DocumentPrefix:                 testmodel.NomicMoEPrompts["passage"],
		keys.Normalize:                      true,
	})
}
