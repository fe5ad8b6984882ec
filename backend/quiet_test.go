package backend

import (
	"os"
	"testing"

	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/backend/llama"
)

// quietLlamaLog keeps llama.cpp's log to warnings and errors for the rest
// of the test, leaving every other logger as it is: a model load writes
// hundreds of debug lines.
func quietLlamaLog(t testing.TB) {
	previous := llama.SetLogger(zerolog.New(os.Stderr).Level(zerolog.WarnLevel))
	t.Cleanup(func() { llama.SetLogger(previous) })
}
