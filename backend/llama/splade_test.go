package llama

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/convert"
	"github.com/rerank-api/rerank-api/internal/reference"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// convertSPLADE writes cfg's random BertForMaskedLM and converts it with
// convert/ to outType; it returns the heads file and the reference.
func convertSPLADE(t testing.TB, cfg testmodel.Config, tied bool, outType string) (string, *reference.Weights) {
	t.Helper()
	ref := testmodel.GenerateSPLADE(cfg, tied)
	dir := t.TempDir()
	hf, out := filepath.Join(dir, "hf"), filepath.Join(dir, "splade.gguf")
	if err := testmodel.WriteHF(hf, ref, cfg, testmodel.HFOptions{Arch: "BertForMaskedLM", Tokenizer: "wordpiece"}); err != nil {
		t.Fatal(err)
	}
	if err := convert.Convert(context.Background(), convert.Options{Input: hf, Output: out, OutType: outType}); err != nil {
		t.Fatal(err)
	}
	return convert.HeadsPath(out), ref
}

// The ggml head's maximum logits match the float64 head on the same
// states: within f32 rounding for an f32 decoder, and within the rounding
// of weights and activations to f16 (ggml's CPU f16 product) for an f16
// one. A chunk of 7 tokens makes sequences span several graphs.
func TestSPLADEHeadMatchesReference(t *testing.T) {
	quietLlamaLog(t)
	Init("")
	for _, tc := range []struct {
		name    string
		tied    bool
		outType string
		tol     float64
	}{
		{"tied f32", true, "f32", 1e-4},
		{"untied f32", false, "f32", 1e-4},
		{"tied f16", true, "f16", 5e-3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testmodel.Tiny(93, "cls")
			path, ref := convertSPLADE(t, cfg, tc.tied, tc.outType)
			h, err := LoadSPLADEHead(path, SPLADEParams{Hidden: cfg.Hidden, Eps: float32(ref.LayerNormEps), ChunkTokens: 7})
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			if h.Vocab() != ref.VocabSize() {
				t.Fatalf("vocab %d, want %d", h.Vocab(), ref.VocabSize())
			}
			r := rand.New(rand.NewPCG(93, 1))
			var states [][]float32
			var want [][]float64
			for _, n := range []int{1, 5, 20, 3} {
				tokens := make([]int32, n)
				for i := range tokens {
					tokens[i] = int32(r.IntN(ref.VocabSize()))
				}
				hidden := ref.Hidden(tokens, nil)
				var flat []float32
				exact := make([][]float64, n)
				for i, row := range hidden {
					exact[i] = make([]float64, len(row))
					for j, x := range row {
						flat = append(flat, float32(x))
						exact[i][j] = float64(float32(x)) // the input ggml sees
					}
				}
				states = append(states, flat)
				best := make([]float64, ref.VocabSize())
				for v := range best {
					best[v] = math.Inf(-1)
				}
				for _, logits := range ref.MLMLogits(exact) {
					for v, l := range logits {
						best[v] = math.Max(best[v], l)
					}
				}
				want = append(want, best)
			}
			got, err := h.MaxLogits(states)
			if err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for s := range want {
				for v := range want[s] {
					worst = math.Max(worst, math.Abs(float64(got[s][v])-want[s][v]))
				}
			}
			t.Logf("largest difference %.2e", worst)
			if worst > tc.tol {
				t.Errorf("max logits differ from the reference by %.2e, want ≤ %.0e", worst, tc.tol)
			}
		})
	}
}

// A heads file whose head does not fit the encoder is refused with the
// tensor named, before ggml sees it.
func TestSPLADEHeadRejectsWidth(t *testing.T) {
	quietLlamaLog(t)
	Init("")
	cfg := testmodel.Tiny(94, "cls")
	path, ref := convertSPLADE(t, cfg, true, "f32")
	_, err := LoadSPLADEHead(path, SPLADEParams{Hidden: cfg.Hidden * 2, Eps: float32(ref.LayerNormEps), ChunkTokens: 8})
	if err == nil || !strings.Contains(err.Error(), "cls.predictions") {
		t.Fatalf("error %v, want one naming a head tensor", err)
	}
}
