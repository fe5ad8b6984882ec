package convert

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/convert/keys"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// writeTinyGemma writes an EmbeddingGemma test checkpoint, with edit
// applied to its config.json.
func writeTinyGemma(t *testing.T, edit func(config map[string]any)) string {
	t.Helper()
	dir := t.TempDir()
	cfg := testmodel.TinyGemma(1)
	if err := testmodel.WriteGemmaHF(dir, testmodel.GenerateGemma(cfg), cfg); err != nil {
		t.Fatal(err)
	}
	editConfig(t, dir, edit)
	return dir
}

func TestConvertGemmaEmbedding(t *testing.T) {
	dir := writeTinyGemma(t, nil)
	md, warnings, err := convertMistral(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warnings {
		// Gemma's tokenizer.json splits on spaces its normalizer has
		// already replaced; the split does nothing.
		if !strings.Contains(w, "Split pre-tokenizer") {
			t.Errorf("warning: %q", w)
		}
	}
	const arch = "gemma-embedding"
	for key, want := range map[string]any{
		"general.architecture": arch, arch + ".pooling_type": uint32(1), arch + ".attention.key_length": uint32(32),
		arch + ".attention.head_count_kv": uint32(2), arch + ".rope.freq_base": float32(1e6),
		arch + ".attention.sliding_window": uint32(8), arch + ".attention.causal": false,
		arch + ".dense_2_feat_in": uint32(64), arch + ".dense_2_feat_out": uint32(256),
		arch + ".dense_3_feat_in": uint32(256), arch + ".dense_3_feat_out": uint32(64),
		"tokenizer.ggml.model": "llama", "tokenizer.ggml.add_space_prefix": false,
		"tokenizer.ggml.add_bos_token": true, "tokenizer.ggml.add_eos_token": true,
		"tokenizer.ggml.bos_token_id": uint32(2), "tokenizer.ggml.eos_token_id": uint32(1),
		keys.Normalize: true, keys.QueryPrefix: testmodel.GemmaQueryPrompt, keys.DocumentPrefix: testmodel.GemmaDocumentPrompt,
		keys.Instruction: "search result", keys.InstructionQueryPrefix: "task: {instruction} | query: ",
	} {
		if got, _ := md.Value(key); got != want {
			t.Errorf("%s = %#v, want %#v", key, got, want)
		}
	}
	for name, ne := range map[string][]uint64{
		"token_embd.weight": {64, uint64(len(testmodel.GemmaVocab()))}, "blk.5.attn_q.weight": {64, 128},
		"blk.5.attn_k.weight": {64, 64}, "blk.5.attn_output.weight": {128, 64}, "blk.5.attn_q_norm.weight": {32},
		"blk.5.post_attention_norm.weight": {64}, "blk.5.post_ffw_norm.weight": {64}, "blk.5.ffn_norm.weight": {64},
		"dense_2.weight": {64, 256}, "dense_3.weight": {256, 64},
	} {
		tensor(t, md, name, ne)
	}
	if n := len(md.Tensors); n != 2+6*13+2 {
		t.Errorf("%d tensors, want %d", n, 2+6*13+2)
	}
}

// Gemma3RMSNorm scales by 1+w; llama.cpp's norm by the stored weight.
func TestConvertGemmaNormsAddOne(t *testing.T) {
	m := testmodel.GenerateGemma(testmodel.TinyGemma(1))
	dir := writeTinyGemma(t, nil)
	md, _, err := convertMistral(dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "out.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	for name, hf := range map[string][]float32{"output_norm.weight": m.Norm, "blk.2.attn_k_norm.weight": m.Layers[2].KeyNorm} {
		got, _ := tensorValues(t, md, data, name) // splade_test.go
		for i := range hf {
			if got[i] != hf[i]+1 {
				t.Fatalf("%s[%d] = %v, want 1 + %v", name, i, got[i], hf[i])
			}
		}
	}
}

func TestConvertGemmaEmbeddingRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(map[string]any)
		want string
	}{
		{"causal", func(c map[string]any) { c["use_bidirectional_attention"] = false }, "use_bidirectional_attention"},
		{"layer pattern", func(c map[string]any) { c["layer_types"].([]any)[0] = "full_attention" }, "layer 0 is full_attention"},
		{"local rope base", func(c map[string]any) { c["rope_local_base_freq"] = 5000.0 }, "fixes it at 10000"},
		{"attention scale", func(c map[string]any) { c["query_pre_attn_scalar"] = 16 }, "query_pre_attn_scalar"},
		{"activation", func(c map[string]any) { c["hidden_activation"] = "silu" }, "hidden_activation"},
		{"softcapping", func(c map[string]any) { c["attn_logit_softcapping"] = 50.0 }, "attn_logit_softcapping"},
	} {
		if _, _, err := convertMistral(writeTinyGemma(t, c.edit)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error about %q", c.name, err, c.want)
		}
	}
	// A Dense module with a bias, or a single one, is not what llama.cpp
	// applies.
	dir := writeTinyGemma(t, nil)
	editConfig(t, filepath.Join(dir, "2_Dense"), func(c map[string]any) { c["bias"] = true })
	if _, _, err := convertMistral(dir); err == nil || !strings.Contains(err.Error(), "bias") {
		t.Errorf("Dense with bias: got %v", err)
	}
	dir = writeTinyGemma(t, nil)
	var modules []map[string]any
	if _, err := readJSON(filepath.Join(dir, "modules.json"), &modules); err != nil {
		t.Fatal(err)
	}
	modules = slices.Delete(modules, 3, 4)
	raw, _ := json.Marshal(modules)
	if err := os.WriteFile(filepath.Join(dir, "modules.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := convertMistral(dir); err == nil || !strings.Contains(err.Error(), "two Dense modules") {
		t.Errorf("one Dense module: got %v", err)
	}
}
