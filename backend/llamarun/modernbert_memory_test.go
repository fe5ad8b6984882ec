package llamarun_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/backend/llama"
	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/convert"
	"github.com/rerank-api/rerank-api/internal/bytesize"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// The pool books for a ModernBERT context what rerank-api's own encoder
// allocates, which llama.cpp's formula does not describe: the booking the
// engine makes from the GGUF's header, less the file, is compared with the
// scheduler's buffers after full batches (one sequence of the whole
// capacity, then the most sequences, for the widest pooling matrix) plus the
// host masks each encode fills. Two layers, one global and one sliding, so
// both masks exist; the buffers are reused layer to layer, so depth does
// not change them.
//
// Measured at 2048 tokens (x86-64, CPU, f32 weights): the tiny shape books
// 1.44× what it allocates with flash attention and 1.17× without (the
// heads' scores), ruri-v3-30m's 1.57× and 1.33×. The bounds are those of
// TestSizeBooksWhatLoadAllocates.
func TestModernBERTBooksItsBuffers(t *testing.T) {
	const capacity = 2048
	rt := llamaRuntime(t)
	for _, shape := range []struct {
		name                 string
		hidden, heads, inter int
	}{
		{"tiny", 64, 4, 96},
		{"ruri-v3-30m", 256, 4, 1024},
	} {
		dir := t.TempDir()
		cfg := testmodel.TinyModernBERT(3, "mean")
		cfg.Hidden, cfg.Heads, cfg.Intermediate, cfg.Layers, cfg.MaxPositions = shape.hidden, shape.heads, shape.inter, 2, capacity
		hf, path := filepath.Join(dir, "hf"), filepath.Join(dir, "mb.gguf")
		if err := testmodel.WriteModernBERTHF(hf, testmodel.GenerateModernBERT(cfg), cfg); err != nil {
			t.Fatal(err)
		}
		if err := convert.Convert(context.Background(), convert.Options{Input: hf, Output: path, OutType: "f32"}); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		cat, err := catalog.New([]byte("models: [{name: mb, kind: embedding, file: "+strconv.Quote(path)+"}]"), "")
		if err != nil {
			t.Fatal(err)
		}
		for _, flash := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/flash=%v", shape.name, flash), func(t *testing.T) {
				e := backend.New(backend.Config{Runtime: rt, ModelsDir: dir, Workers: 1, Threads: 2, BatchTokens: capacity,
					FlashAttention: flash, BudgetBytes: 8 << 30, KeepAlive: -1, DefaultEmbedding: "mb"}, cat, zerolog.Nop())
				defer e.Close()
				e.Preload(context.Background())
				if err := e.Ready(context.Background()); err != nil {
					t.Fatal(err)
				}
				booked := e.MemoryUsed() - uint64(fi.Size())

				measured := modernBERTAllocation(t, path, capacity, flash, len(testmodel.DefaultVocab()))
				ratio := float64(booked) / float64(measured)
				t.Logf("booked %s for %s allocated (%.2f×)", bytesize.Format(booked), bytesize.Format(measured), ratio)
				if ratio < 1 || ratio > 2 {
					t.Errorf("booked %s for %s allocated (%.2f×), want 1× to 2×", bytesize.Format(booked), bytesize.Format(measured), ratio)
				}
			})
		}
	}
}

// modernBERTAllocation encodes full batches in a context of the engine's
// shape and returns its compute buffers plus the largest batch's host
// arrays (two n×n f16 masks, the pooling matrix).
func modernBERTAllocation(t *testing.T, path string, capacity int, flash bool, vocab int) uint64 {
	t.Helper()
	m, err := llama.LoadModernBERT(path, llama.ModelParams{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c, err := m.NewContext(llama.ContextParams{BatchTokens: capacity, Sequences: llama.MaxSequences, Threads: 2,
		FlashAttention: flash, Pooling: llama.PoolingMean})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seq := func(n int) []int32 {
		s := make([]int32, n)
		for i := range s {
			s[i] = int32(5 + i%(vocab-5))
		}
		return s
	}
	many := make([][]int32, llama.MaxSequences)
	for i := range many {
		many[i] = seq(capacity / llama.MaxSequences)
	}
	for _, batch := range [][][]int32{{seq(capacity)}, many} {
		if _, err := c.Encode(batch); err != nil {
			t.Fatal(err)
		}
	}
	n := uint64(capacity)
	return c.ComputeBytes() + 2*2*n*n + 4*n*llama.MaxSequences
}
