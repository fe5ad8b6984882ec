package llamarun_test

import (
	"os"
	"testing"

	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/backend/llama"
	"github.com/rerank-api/rerank-api/backend/llamarun"
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
