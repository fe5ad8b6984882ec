package backend

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/convert/gguf"
)

// EmbedAll encodes through a token context made on first use, books its
// memory against the model, and answers per token in input order; a
// reranker gets Embed's wrong-kind error, and a token context that can never
// fit the budget makes the model unavailable for it while it goes on serving
// Embed.
func TestEmbedAllTokenContext(t *testing.T) {
	dir, cat := fakeModelCatalog(t, `
  - {name: embedder, kind: embedding, file: fake.gguf, query_prefix: "q "}
  - {name: reranker, kind: rerank, pooling: rank, file: fake.gguf}`)
	ctx := context.Background()
	r := &fakeRuntime{}
	cfg := Config{ModelsDir: dir, Workers: 1, BatchTokens: 64, BudgetBytes: 1 << 30, KeepAlive: -1, Runtime: r}
	e := New(cfg, cat, zerolog.Nop())

	if _, err := e.Embed(ctx, EmbedRequest{Model: "embedder", Inputs: []Input{{Text: "a"}}}); err != nil {
		t.Fatal(err)
	}
	loaded := e.MemoryUsed()
	req := EmbedRequest{Model: "embedder", Inputs: []Input{{Text: "aa b"}, {Tokens: []int32{1, 30, 2}}}}
	res, err := e.EmbedAll(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	want := [][][]float32{
		{{1, 0, 1}, {12, 1, 1}, {11, 2, 1}, {2, 3, 1}}, // [CLS] aa b [SEP]
		{{1, 0, 1}, {30, 1, 1}, {2, 2, 1}},
	}
	if !reflect.DeepEqual(res.Vectors, want) || res.PromptTokens != 7 || res.Model != "embedder" {
		t.Fatalf("EmbedAll: %v, %d tokens, model %q; want %v, 7 tokens", res.Vectors, res.PromptTokens, res.Model, want)
	}
	if m := e.pool.Resources()["embedder"]; m == nil || len(m.queues) != 1 || m.queues[0] != m.tokens.batcher {
		t.Errorf("the token batcher is not among the queues te_queue_size counts")
	}
	grown := e.MemoryUsed()
	// A worker's buffers (64 tokens, 2 heads without flash attention) and
	// 64 tokens × 3 floats of output.
	if wantGrowth := uint64(32<<20 + 64*64<<10 + 2*64*64*4 + 64*3*4); grown-loaded != wantGrowth {
		t.Errorf("the token context booked %d bytes, want %d", grown-loaded, wantGrowth)
	}
	query, err := e.EmbedAll(ctx, EmbedRequest{Model: "embedder", Inputs: []Input{{Text: "x"}}, InputType: InputQuery})
	if err != nil || len(query.Vectors[0]) != 4 || query.Vectors[0][1][0] != 11 {
		t.Errorf("with the query prefix: %v, %v; want [CLS] q x [SEP]", query, err)
	}
	if e.MemoryUsed() != grown {
		t.Errorf("a second EmbedAll booked again: %d, then %d", grown, e.MemoryUsed())
	}

	if _, err := e.EmbedAll(ctx, EmbedRequest{Model: "reranker", Inputs: req.Inputs}); !errors.Is(err, ErrWrongKind) {
		t.Errorf("a reranker: %v, want ErrWrongKind", err)
	}
	for name, bad := range map[string]EmbedRequest{
		"no input":   {Model: "embedder"},
		"dimensions": {Model: "embedder", Inputs: req.Inputs, Dimensions: 2},
		"too long":   {Model: "embedder", Inputs: []Input{{Tokens: make([]int32, 65)}}},
	} {
		if _, err := e.EmbedAll(ctx, bad); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	e.Close()
	if r.open != 0 {
		t.Errorf("%d models or contexts left open after Close", r.open)
	}

	// A budget that holds the model but not its token context.
	cfg.BudgetBytes = loaded + 1
	small := New(cfg, cat, zerolog.Nop())
	defer small.Close()
	// No retry can fit it: the model itself holds the rest of the budget.
	if _, err := small.EmbedAll(ctx, req); !errors.Is(err, ErrModelUnavailable) || !errors.Is(err, ErrLargerThanBudget) {
		t.Errorf("over the budget: %v, want ErrModelUnavailable wrapping ErrLargerThanBudget", err)
	}
	if _, err := small.Embed(ctx, EmbedRequest{Model: "embedder", Inputs: []Input{{Text: "a"}}}); err != nil {
		t.Errorf("Embed after the token context was refused: %v", err)
	}
	if small.MemoryUsed() != loaded {
		t.Errorf("after the refusal %d bytes are booked, want the model's %d", small.MemoryUsed(), loaded)
	}
	if _, err := small.Embed(ctx, EmbedRequest{Model: "embedder", Inputs: []Input{{Text: "a"}}}); err != nil {
		t.Errorf("Embed after the refusal: %v", err)
	}
}

// fakeModelCatalog writes the header of a BERT GGUF that fakeRuntime
// serves, as fake.gguf in a new directory, and a catalog of entries (YAML
// list items) naming it.
func fakeModelCatalog(t *testing.T, entries string) (string, *catalog.Catalog) {
	t.Helper()
	dir := t.TempDir()
	w := gguf.NewWriter()
	w.AddKV("general.architecture", "bert")
	w.AddKV("bert.context_length", uint32(64))
	w.AddKV("bert.attention.head_count", uint32(2))
	w.AddKV("bert.embedding_length", uint32(3))
	w.AddKV("tokenizer.ggml.model", "bert")
	if err := w.WriteFile(filepath.Join(dir, "fake.gguf")); err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.New([]byte("models:"+entries+"\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	return dir, cat
}

// A model larger than the whole budget is unavailable (503: no retry will
// fit it), not an overload (429), which tells clients to retry.
func TestModelLargerThanBudgetIsUnavailable(t *testing.T) {
	dir, cat := fakeModelCatalog(t, `
  - {name: embedder, kind: embedding, file: fake.gguf}`)
	e := New(Config{ModelsDir: dir, Workers: 1, BatchTokens: 64, BudgetBytes: 1 << 10, KeepAlive: -1, Runtime: &fakeRuntime{}}, cat, zerolog.Nop())
	defer e.Close()
	_, err := e.Embed(context.Background(), EmbedRequest{Model: "embedder", Inputs: []Input{{Text: "a"}}})
	if !errors.Is(err, ErrModelUnavailable) || !errors.Is(err, ErrLargerThanBudget) || errors.Is(err, ErrOverloaded) {
		t.Fatalf("got %v, want ErrModelUnavailable wrapping ErrLargerThanBudget", err)
	}
}
