package convert

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/internal/reference"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// A checkpoint whose token-type adapter has no row for type 0 (lora_A of
// shape [tasks, 0, rank]) is refused with a message, not a panic: the
// converter folds that row into the word-embedding adapter.
func TestConvertJinaV3TypeAdapterWithoutRows(t *testing.T) {
	cfg := testmodel.Tiny(3, "mean")
	cfg.TypeVocab, cfg.Tokenizer = 1, "ugm"
	m := testmodel.GenerateJinaV3(cfg)
	for i, a := range m.TypeLoRA.A {
		m.TypeLoRA.A[i] = reference.Matrix{Rows: 0, Cols: a.Cols}
	}
	src := t.TempDir()
	if err := testmodel.WriteJinaV3HF(src, m, cfg); err != nil {
		t.Fatal(err)
	}
	err := Convert(context.Background(), Options{Input: src, Output: filepath.Join(t.TempDir(), "jina.gguf"), OutType: "f32"})
	if err == nil || !strings.Contains(err.Error(), "token type adapter") {
		t.Fatalf("error %v, want the token type adapter refused", err)
	}
}
