package llamarun_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/convert"
	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/internal/bytesize"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// The SPLADE head's booking, made when its first request loads it, covers
// what loading it and computing a full chunk of tokens takes: resident
// memory grows by no more than the pool's booking grows, and by at least
// half of it. A 30522-entry vocabulary makes the decoder and the logits,
// which the booking sizes, the bulk of it.
func TestSPLADEBooking(t *testing.T) {
	dir := t.TempDir()
	cfg := testmodel.Tiny(3, "cls")
	cfg.MaxPositions = 1024
	cfg.Vocab = spladeVocab()
	src := filepath.Join(dir, "hf")
	if err := testmodel.WriteHF(src, testmodel.GenerateSPLADE(cfg, false), cfg, testmodel.HFOptions{Arch: "BertForMaskedLM", DType: checkpoint.F32, Tokenizer: "wordpiece"}); err != nil {
		t.Fatal(err)
	}
	if err := convert.Convert(context.Background(), convert.Options{Input: src, Output: filepath.Join(dir, "splade.gguf"), OutType: "f32"}); err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.New([]byte(`models: [{name: splade, kind: embedding, file: splade.gguf}]`), "")
	if err != nil {
		t.Fatal(err)
	}
	e := backend.New(backend.Config{Runtime: llamaRuntime(t), ModelsDir: dir, Workers: 1, Threads: 2, BudgetBytes: 8 << 30, KeepAlive: -1}, cat, zerolog.Nop())
	defer e.Close()
	req := backend.EmbedRequest{Model: "splade", Inputs: []backend.Input{{Text: strings.Repeat("dog ", 700)}}}
	// The token context first, booked on its own (TestSizeBooksWhatLoadAllocates).
	if _, err := e.EmbedAll(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	booked, before := e.MemoryUsed(), residentBytes(t)
	res, err := e.EmbedOutputs(context.Background(), backend.OutputsRequest{EmbedRequest: req, Outputs: backend.Outputs{Sparse: true}})
	if err != nil {
		t.Fatal(err)
	}
	grown := residentBytes(t) - before
	booked = e.MemoryUsed() - booked
	ratio := float64(booked) / float64(grown)
	t.Logf("SPLADE head: booked %s, resident memory grew %s (%.2f×); %d weights", bytesize.Format(booked), bytesize.Format(grown), ratio, len(res.Sparse[0]))
	if res.PromptTokens < 512 || ratio < 1 || ratio > 2 {
		t.Errorf("%d tokens; booked %s for %s of growth (%.2f×), want 1× to 2×", res.PromptTokens, bytesize.Format(booked), bytesize.Format(grown), ratio)
	}
}
