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

func writeNomicMoE(t *testing.T) (string, testmodel.NomicMoEConfig) {
	t.Helper()
	dir := t.TempDir()
	cfg := testmodel.TinyNomicMoE(1)
	if err := testmodel.WriteNomicMoEHF(dir, testmodel.GenerateNomicMoE(cfg), cfg); err != nil {
		t.Fatal(err)
	}
	return dir, cfg
}

// The layout llama.cpp's nomic-bert-moe loads: a fused attn_qkv, dense
// ffn_up/ffn_down on even layers, the router and the expert stacks on odd
// ones, no position table, and the tokenizer's rows padded to the table's.
func TestConvertNomicMoE(t *testing.T) {
	src, cfg := writeNomicMoE(t)
	out := filepath.Join(t.TempDir(), "m.gguf")
	if err := Convert(context.Background(), Options{Input: src, Output: out, OutType: "f32"}); err != nil {
		t.Fatal(err)
	}
	m, err := gguf.ReadMetadata(out)
	if err != nil {
		t.Fatal(err)
	}
	h, ff, e := uint64(cfg.Hidden), uint64(cfg.Intermediate), uint64(cfg.Experts)
	want(t, m, "general.architecture", "nomic-bert-moe")
	want(t, m, "nomic-bert-moe.context_length", uint32(cfg.MaxPositions))
	want(t, m, "nomic-bert-moe.attention.layer_norm_epsilon", float32(1e-5))
	want(t, m, "tokenizer.ggml.token_type_count", uint32(1))
	want(t, m, keys.QueryPrefix, "search_query: ")
	tensor(t, m, "token_embd.weight", []uint64{h, uint64(cfg.PaddedVocab)})
	tensor(t, m, "token_types.weight", []uint64{h, 1})
	tensor(t, m, "blk.0.attn_qkv.weight", []uint64{h, 3 * h})
	tensor(t, m, "blk.0.attn_qkv.bias", []uint64{3 * h})
	tensor(t, m, "blk.0.ffn_up.weight", []uint64{h, ff})
	tensor(t, m, "blk.0.ffn_down.bias", []uint64{h})
	tensor(t, m, "blk.1.ffn_gate_inp.weight", []uint64{h, e})
	tensor(t, m, "blk.1.ffn_up_exps.weight", []uint64{h, ff, e})
	tensor(t, m, "blk.1.ffn_down_exps.weight", []uint64{ff, h, e})
	tensor(t, m, "blk.1.layer_output_norm.bias", []uint64{h})
	noTensor(t, m, "blk.1.ffn_up.weight")
	noTensor(t, m, "position_embd.weight")
}

// Configs whose forward pass llama.cpp's graph does not compute are
// refused with what differs.
func TestConvertNomicMoERefuses(t *testing.T) {
	for _, tc := range []struct {
		name, key string
		value     any
		msg       string
	}{
		{"v1.5 without experts", "num_experts", 0, "nomic-bert architecture"},
		{"renormalized gating", "moe_normalize_expert_weights", 1, "moe_normalize_expert_weights"},
		{"dynamic NTK", "rotary_scaling_factor", 2.0, "rotary_scaling_factor"},
		{"SwiGLU", "activation_function", "swiglu", "activation_function"},
		{"prenorm", "prenorm", true, "post-norm"},
		{"interleaved rotary", "rotary_emb_interleaved", true, "NeoX"},
		// llama.cpp's rule i % 1 == 1 puts experts nowhere; the checkpoint
		// has them on layer 1.
		{"experts on other layers", "moe_every_n_layers", 1, "layer 1 has a router"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, _ := writeNomicMoE(t)
			path := filepath.Join(src, "config.json")
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var c map[string]any
			if err := json.Unmarshal(raw, &c); err != nil {
				t.Fatal(err)
			}
			c[tc.key] = tc.value
			raw, _ = json.Marshal(c)
			if err := os.WriteFile(path, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			err = Convert(context.Background(), Options{Input: src, Output: filepath.Join(t.TempDir(), "m.gguf"), OutType: "f32"})
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %v, want one mentioning %q", err, tc.msg)
			}
		})
	}
}
