package llama

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/convert"
	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/internal/reference"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// loadModernBERT converts cfg's random ModernBERT from its Hugging Face
// layout with convert/ (f32) and loads the GGUF.
func loadModernBERT(t *testing.T, cfg testmodel.ModernBERTConfig) (*ModernBERT, *reference.ModernBERT) {
	t.Helper()
	quietLlamaLog(t)
	Init("")
	ref := testmodel.GenerateModernBERT(cfg)
	dir := t.TempDir()
	hf, out := filepath.Join(dir, "hf"), filepath.Join(dir, "model.gguf")
	if err := testmodel.WriteModernBERTHF(hf, ref, cfg); err != nil {
		t.Fatal(err)
	}
	if err := convert.Convert(context.Background(), convert.Options{Input: hf, Output: out, OutType: "f32"}); err != nil {
		t.Fatal(err)
	}
	if !IsModernBERT(out) {
		t.Fatal("the converted file is not a ModernBERT GGUF")
	}
	m, err := LoadModernBERT(out, ModelParams{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m, ref
}

// modernBERTBatch mixes a lone token, sequences inside the ±4 window and
// sequences many windows long, so both masks (across sequences, and the
// sliding window within one) matter.
func modernBERTBatch(seed int64, vocabSize int) [][]int32 {
	r := rand.New(rand.NewPCG(uint64(seed), 7))
	seq := func(n int) []int32 {
		s := make([]int32, n)
		for i := range s {
			s[i] = int32(r.IntN(vocabSize))
		}
		return s
	}
	return [][]int32{seq(1), seq(5), seq(37), seq(9), seq(120)}
}

func TestModernBERTMatchesReference(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pooling string
		bias    bool
		classif string
	}{
		{"mean", "mean", false, ""},
		{"cls with biases", "cls", true, ""},
		{"rank, mean head", "rank", false, "mean"},
		{"rank, cls head with biases", "rank", true, "cls"},
		{"every layer global", "mean", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testmodel.TinyModernBERT(11, tc.pooling)
			cfg.Bias = tc.bias
			if tc.classif != "" {
				cfg.ClassifierPooling = tc.classif
			}
			if tc.name == "every layer global" {
				cfg.GlobalEvery = 1 // no sliding mask in the graph
			}
			m, ref := loadModernBERT(t, cfg)
			if got := m.Meta("modernbert.attention.global_every"); got != fmt.Sprint(cfg.GlobalEvery) {
				t.Fatalf("global_every %q, want %d", got, cfg.GlobalEvery)
			}
			batch := modernBERTBatch(cfg.Seed, m.Info.VocabSize)
			want := make([][]float64, len(batch))
			for s, seq := range batch {
				switch tc.pooling {
				case "rank":
					want[s] = ref.Classify(seq)
				case "mean":
					want[s] = reference.Pool(ref.Hidden(seq), reference.PoolMean)
				default:
					want[s] = reference.Pool(ref.Hidden(seq), reference.PoolCLS)
				}
			}
			// Exact f32 arithmetic without flash attention; with it K and V
			// are rounded to f16, as llama.cpp's are (design tolerance 2e-3).
			for flash, tol := range map[bool]float64{false: 1e-4, true: 2e-3} {
				ctx, err := m.NewContext(ContextParams{BatchTokens: 256, Sequences: 16, Threads: 2, Pooling: PoolingUnspecified, FlashAttention: flash})
				if err != nil {
					t.Fatal(err)
				}
				defer ctx.Close()
				got, err := ctx.Encode(batch)
				if err != nil {
					t.Fatal(err)
				}
				d := maxAbsDiff(t, got, want)
				t.Logf("flash attention %v: max |ggml − reference| = %.2g", flash, d)
				if d > tol {
					t.Errorf("flash attention %v: max |ggml − reference| = %g, want ≤ %g", flash, d, tol)
				}
				// Alone, each sequence gives what it gave in the batch.
				for s, seq := range batch {
					alone, err := ctx.Encode([][]int32{seq})
					if err != nil {
						t.Fatal(err)
					}
					if d := maxAbsDiff(t, alone, want[s:s+1]); d > tol {
						t.Errorf("flash attention %v: sequence %d alone: max diff %g", flash, s, d)
					}
				}
			}
		})
	}
}

func TestModernBERTInfoAndTokenizer(t *testing.T) {
	cfg := testmodel.TinyModernBERT(12, "rank")
	m, ref := loadModernBERT(t, cfg)
	if i := m.Info; i.Arch != "modernbert" || i.ClassOutputs != 1 || i.Embedding != 64 || i.TrainContext != 256 ||
		i.VocabSize != ref.VocabSize() || i.Pooling != PoolingRank || i.ParamBytes == 0 {
		t.Errorf("info %+v", i)
	}
	ids, err := m.Tokenize("hello dog", true, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := cfg.ExpectedIDs("hello dog"); len(ids) != len(want) || ids[0] != want[0] || ids[1] != want[1] || ids[len(ids)-1] != want[len(want)-1] {
		t.Errorf("tokenized %v, want %v", ids, want)
	}
	if m.Meta("modernbert.attention.sliding_window") != "8" {
		t.Errorf("sliding window meta %q", m.Meta("modernbert.attention.sliding_window"))
	}
}

func TestModernBERTRejectsInvalidBatches(t *testing.T) {
	m, _ := loadModernBERT(t, testmodel.TinyModernBERT(13, "mean"))
	ctx, err := m.NewContext(ContextParams{BatchTokens: 64, Sequences: 4, Threads: 1, Pooling: PoolingUnspecified})
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	for name, batch := range map[string][][]int32{
		"empty sequence":  {{}},
		"bad id":          {{1, int32(m.Info.VocabSize)}},
		"negative id":     {{-1}},
		"too many tokens": {make([]int32, 65)},
		"too many seqs":   {{1}, {1}, {1}, {1}, {1}},
		"too long":        {make([]int32, 257)},
	} {
		if _, err := ctx.Encode(batch); !errors.Is(err, ErrInvalidBatch) {
			t.Errorf("%s: %v, want ErrInvalidBatch", name, err)
		}
	}
	if _, err := m.NewContext(ContextParams{BatchTokens: 64, Sequences: 4, Pooling: PoolingRank}); err == nil {
		t.Error("rank pooling without a head was accepted")
	}
}

// A file the encoder cannot run is refused with an error naming what is
// wrong, never by ggml's asserts: a missing hyperparameter, a missing
// tensor, a tensor of the wrong shape.
func TestModernBERTRejectsBadFiles(t *testing.T) {
	cfg := testmodel.TinyModernBERT(14, "mean")
	good, _ := loadModernBERT(t, cfg)
	dir := t.TempDir()
	write := func(name string, skipKey string, tensors map[string][]uint64) string {
		w := gguf.NewWriter()
		for _, kv := range good.meta.KVs {
			if kv.Key != skipKey && kv.Key != "general.alignment" {
				w.AddKV(kv.Key, kv.Value)
			}
		}
		for tensor, ne := range tensors {
			n := uint64(1)
			for _, d := range ne {
				n *= d
			}
			w.AddTensor(tensor, ne, gguf.TensorF32, make([]float32, n))
		}
		path := filepath.Join(dir, name)
		if err := w.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		return path
	}
	vocab := uint64(good.Info.VocabSize)
	for name, c := range map[string]struct {
		path, want string
	}{
		"no heads key":    {write("a.gguf", "modernbert.attention.head_count", nil), "head_count"},
		"no tensors":      {write("b.gguf", "", nil), "token_embd.weight is missing"},
		"embedding shape": {write("c.gguf", "", map[string][]uint64{"token_embd.weight": {64, vocab - 1}}), "token_embd.weight has shape"},
	} {
		_, err := LoadModernBERT(c.path, ModelParams{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, c.want)
		}
	}
}
