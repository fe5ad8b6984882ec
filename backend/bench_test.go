package backend

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/convert/gguf"
)

// The engine's share of a request around the encoder: resolve the model,
// tokenize, queue, batch, pool the results. The fake runtime tokenizes by
// spaces and encodes in a few operations, so what is left is our overhead.
// Run with -benchmem: allocations per request hold on a busy machine,
// times do not.

// benchEngine serves fake.gguf as "embedder" and "reranker".
func benchEngine(b *testing.B) *Engine {
	b.Helper()
	dir := b.TempDir()
	w := gguf.NewWriter()
	w.AddKV("general.architecture", "bert")
	w.AddKV("bert.context_length", uint32(512))
	w.AddKV("bert.attention.head_count", uint32(12))
	w.AddKV("tokenizer.ggml.model", "bert")
	if err := w.WriteFile(filepath.Join(dir, "fake.gguf")); err != nil {
		b.Fatal(err)
	}
	cat, err := catalog.New([]byte(`models:
  - {name: embedder, kind: embedding, file: fake.gguf}
  - {name: reranker, kind: rerank, pooling: rank, file: fake.gguf}
`), "")
	if err != nil {
		b.Fatal(err)
	}
	e := New(Config{ModelsDir: dir, Workers: 1, BudgetBytes: 1 << 30, KeepAlive: -1, Runtime: &fakeRuntime{}}, cat, zerolog.Nop())
	b.Cleanup(e.Close)
	return e
}

// benchWords is a text of n words, n tokens to the fake tokenizer.
func benchWords(n int) string { return strings.Repeat("word ", n) }

func BenchmarkEngineEmbed(b *testing.B) {
	for _, inputs := range []int{1, 32} {
		b.Run(fmt.Sprintf("inputs=%d", inputs), func(b *testing.B) {
			e := benchEngine(b)
			req := EmbedRequest{Model: "embedder", Inputs: make([]Input, inputs)}
			for i := range req.Inputs {
				req.Inputs[i] = Input{Text: benchWords(126)}
			}
			run(b, func() error { _, err := e.Embed(context.Background(), req); return err })
		})
	}
}

func BenchmarkEngineRerank(b *testing.B) {
	for _, docs := range []int{1, 100} {
		b.Run(fmt.Sprintf("documents=%d", docs), func(b *testing.B) {
			e := benchEngine(b)
			req := RerankRequest{Model: "reranker", Query: benchWords(8), Documents: make([]string, docs)}
			for i := range req.Documents {
				req.Documents[i] = benchWords(190)
			}
			run(b, func() error { _, err := e.Rerank(context.Background(), req); return err })
		})
	}
}

// run calls request once to load the model, then b.N times measured.
func run(b *testing.B, request func() error) {
	b.Helper()
	if err := request(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := request(); err != nil {
			b.Fatal(err)
		}
	}
}
