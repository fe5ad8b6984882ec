package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// shared is one server, started once for the tests that only read from it.
var shared struct {
	srv    *serverProcess
	models map[string]*testModel
	dir    string
}

// The shared server's catalog: two embedding models (CLS and mean pooling),
// rerankers, and an entry whose file is missing. tiny-rank is a BERT
// cross-encoder (two token types, so its GGUF carries segment-B rows; also
// the embeddings tests' wrong-kind case), tiny-xlmr-rank an XLM-R-style one
// (SentencePiece vocabulary, one token type) and tiny-nli-rank a three-label
// head scored by softmax.
const sharedCatalog = `models:
  - {name: tiny-cls, kind: embedding, file: tiny-cls.gguf}
  - {name: tiny-mean, kind: embedding, file: tiny-mean.gguf, repo: test-org/tiny-mean}
  - {name: tiny-rank, kind: rerank, pooling: rank, file: tiny-rank.gguf}
  - {name: tiny-xlmr-rank, kind: rerank, pooling: rank, file: tiny-xlmr-rank.gguf}
  - {name: tiny-nli-rank, kind: rerank, pooling: rank, file: tiny-nli-rank.gguf, relevant_label: 1}
  - {name: tiny-missing, kind: embedding, file: not-there.gguf}
`

// xlmrStyle is a cross-encoder shaped like XLM-RoBERTa's for the tests: a
// SentencePiece vocabulary and a single token type.
func xlmrStyle(seed int64) testmodel.Config {
	cfg := testmodel.Tiny(seed, "rank")
	cfg.TypeVocab, cfg.Tokenizer = 1, "ugm"
	return cfg
}

// threeLabels is a cross-encoder whose head has three outputs, as NLI
// models have.
func threeLabels(seed int64) testmodel.Config {
	cfg := testmodel.Tiny(seed, "rank")
	cfg.Labels = 3
	return cfg
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "rerank-api-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	shared.dir = dir
	shared.models, err = writeModels(dir, map[string]testmodel.Config{
		"tiny-cls":       testmodel.Tiny(1, "cls"),
		"tiny-mean":      testmodel.Tiny(2, "mean"),
		"tiny-rank":      testmodel.Tiny(3, "rank"),
		"tiny-xlmr-rank": xlmrStyle(4),
		"tiny-nli-rank":  threeLabels(5),
	})
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "models.yaml"), []byte(sharedCatalog), 0o644)
	}
	if err == nil {
		shared.srv, err = launch(true,
			"--models-dir", dir, "--models-config", filepath.Join(dir, "models.yaml"),
			"--embedding-model", "tiny-cls", "--reranker-model", "tiny-rank",
			"--max-client-batch-size", "100", "--payload-limit", "200000", "--auto-truncate=false",
			"--max-rerank-documents", "60")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "setting up the shared server:", err)
		return 1
	}
	code := m.Run()
	if err := shared.srv.stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	return code
}
