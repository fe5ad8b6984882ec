package convert

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

func writeModernBERT(t *testing.T, cfg testmodel.ModernBERTConfig) string {
	t.Helper()
	dir := t.TempDir()
	if err := testmodel.WriteModernBERTHF(dir, testmodel.GenerateModernBERT(cfg), cfg); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The layout the ggml encoder reads (keys.ModernBERTArch): layer 0 has no
// attn_norm, biases appear only where the config kept them, and a
// cross-encoder's head goes to cls, cls.norm and cls.output.
func TestConvertModernBERT(t *testing.T) {
	rank := testmodel.TinyModernBERT(1, "rank")
	rank.Bias = true
	src := writeModernBERT(t, rank)
	out := filepath.Join(t.TempDir(), "m.gguf")
	if err := Convert(context.Background(), Options{Input: src, Output: out, OutType: "f32"}); err != nil {
		t.Fatal(err)
	}
	m, err := gguf.ReadMetadata(out)
	if err != nil {
		t.Fatal(err)
	}
	want(t, m, "general.architecture", keys.ModernBERTArch)
	want(t, m, "modernbert.pooling_type", uint32(4))
	want(t, m, keys.ModernBERTHeadPooling, "mean")
	want(t, m, keys.ModernBERTActivation, "gelu")
	want(t, m, keys.ScoreActivation, "sigmoid")
	tensor(t, m, "blk.0.attn_qkv.weight", []uint64{64, 192})
	tensor(t, m, "blk.0.attn_qkv.bias", []uint64{192})
	tensor(t, m, "blk.1.ffn_up.weight", []uint64{64, 192})
	tensor(t, m, "cls.norm.bias", []uint64{64})
	tensor(t, m, "cls.output.weight", []uint64{64, 1})
	noTensor(t, m, "blk.0.attn_norm.weight")
	tensor(t, m, "blk.1.attn_norm.weight", []uint64{64})

	embed := writeModernBERT(t, testmodel.TinyModernBERT(2, "mean"))
	if err := Convert(context.Background(), Options{Input: embed, Output: out, OutType: "f32"}); err != nil {
		t.Fatal(err)
	}
	if m, err = gguf.ReadMetadata(out); err != nil {
		t.Fatal(err)
	}
	want(t, m, keys.QueryPrefix, "検索クエリ: ")
	want(t, m, keys.DocumentPrefix, "検索文書: ")
	noTensor(t, m, "blk.1.attn_qkv.bias")
	noTensor(t, m, "output_norm.bias")
	noTensor(t, m, "cls.weight")
}

// Settings the encoder cannot compute are refused at conversion, naming
// the key.
func TestConvertModernBERTRefuses(t *testing.T) {
	for key, value := range map[string]any{
		"hidden_activation":  "silu",
		"classifier_pooling": "max",
	} {
		src := writeModernBERT(t, testmodel.TinyModernBERT(3, "rank"))
		path := filepath.Join(src, "config.json")
		var cfg map[string]any
		raw, _ := os.ReadFile(path)
		if err := json.Unmarshal(raw, &cfg); err != nil {
			t.Fatal(err)
		}
		cfg[key] = value
		raw, _ = json.Marshal(cfg)
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		err := Convert(context.Background(), Options{Input: src, Output: filepath.Join(t.TempDir(), "m.gguf"), OutType: "f32"})
		if err == nil || !strings.Contains(err.Error(), key) && !strings.Contains(err.Error(), value.(string)) {
			t.Errorf("%s = %v: %v", key, value, err)
		}
	}
}
