package llamarun_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/backend/llama"
	"github.com/rerank-api/rerank-api/backend/llamarun"
	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/internal/reference"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// llamaRuntime is the runtime cmd/ gives the engine, for the tests that
// check the engine's answers on llama.cpp: it initializes llama.cpp and
// keeps its log quiet for the rest of the test.
func llamaRuntime(t testing.TB) backend.Runtime {
	llama.Init("")
	quietLlamaLog(t)
	return llamarun.Runtime{}
}

// quietLlamaLog keeps llama.cpp's log to warnings and errors for the rest
// of the test, leaving every other logger as it is: a model load writes
// hundreds of debug lines.
func quietLlamaLog(t testing.TB) {
	previous := llama.SetLogger(zerolog.New(os.Stderr).Level(zerolog.WarnLevel))
	t.Cleanup(func() { llama.SetLogger(previous) })
}

// tinyEmbedder writes w (cfg's layout) as the catalog's only model, "tiny",
// an embedding model, and returns an engine serving it on llama.cpp with a
// batch budget of batchTokens (0: the default).
func tinyEmbedder(t testing.TB, cfg testmodel.Config, w *reference.Weights, batchTokens int) *backend.Engine {
	t.Helper()
	dir := t.TempDir()
	if err := testmodel.WriteGGUF(filepath.Join(dir, "tiny.gguf"), w, cfg, "f32"); err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.New([]byte("models:\n  - {name: tiny, kind: embedding, file: tiny.gguf}\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	e := backend.New(backend.Config{Runtime: llamaRuntime(t), ModelsDir: dir, Threads: 2, BatchTokens: batchTokens, BudgetBytes: 1 << 30}, cat, zerolog.Nop())
	t.Cleanup(e.Close)
	return e
}
