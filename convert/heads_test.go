package convert

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// A head whose shape does not fit the encoder fails the conversion with
// the file named, and leaves neither the model nor its companion behind.
func TestConvertRejectsMisshapedHeads(t *testing.T) {
	cfg := testmodel.Tiny(71, "cls")
	dir := writeCheckpoint(t, cfg, testmodel.HFOptions{Arch: "BertModel", DType: checkpoint.F32, Tokenizer: "wordpiece"})
	wrong := cfg
	wrong.Hidden = cfg.Hidden / 2
	if err := testmodel.WriteM3Heads(dir, testmodel.GenerateM3Heads(wrong)); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "m.gguf")
	err := Convert(context.Background(), Options{Input: dir, Output: out, OutType: "f32"})
	if err == nil || !strings.Contains(err.Error(), "_linear.pt") {
		t.Fatalf("error %v, want one naming the head file", err)
	}
	for _, p := range []string{out, HeadsPath(out)} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was written", p)
		}
	}
}
