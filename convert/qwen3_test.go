package convert

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// writeTinyQwen3 writes a Qwen3 test checkpoint, with edit applied to its
// config.json.
func writeTinyQwen3(t *testing.T, cfg testmodel.Qwen3Config, edit func(config map[string]any)) string {
	t.Helper()
	dir := t.TempDir()
	if err := testmodel.WriteQwen3HF(dir, testmodel.GenerateQwen3(cfg), cfg); err != nil {
		t.Fatal(err)
	}
	editConfig(t, dir, edit)
	return dir
}

// editConfig applies edit, when not nil, to dir's config.json.
func editConfig(t *testing.T, dir string, edit func(config map[string]any)) {
	t.Helper()
	if edit == nil {
		return
	}
	path := filepath.Join(dir, "config.json")
	var config map[string]any
	if _, err := readJSON(path, &config); err != nil {
		t.Fatal(err)
	}
	edit(config)
	raw, _ := json.Marshal(config)
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestConvertQwen3Embedding(t *testing.T) {
	md, warnings, err := convertMistral(writeTinyQwen3(t, testmodel.TinyQwen3(1), nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) > 0 {
		t.Errorf("warnings: %q", warnings)
	}
	n := len(testmodel.Qwen3Vocab())
	for key, want := range map[string]any{
		"general.architecture": "qwen3", "qwen3.pooling_type": uint32(3), "qwen3.attention.key_length": uint32(32),
		"qwen3.attention.head_count_kv": uint32(2), "qwen3.rope.freq_base": float32(1e6),
		"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "qwen2",
		// <|im_end|> is tokenizer_config's EOS, but the card appends
		// <|endoftext|>.
		"tokenizer.ggml.eos_token_id":  uint32(testmodel.Qwen3TokenID("<|endoftext|>")),
		"tokenizer.ggml.add_eos_token": true, "tokenizer.ggml.add_bos_token": false,
		keys.Normalize: true, keys.QueryPrefix: testmodel.Qwen3QueryPrompt,
		keys.Instruction: testmodel.Qwen3Instruction, keys.InstructionQueryPrefix: "Instruct: {instruction}\nQuery:",
	} {
		if got, _ := md.Value(key); got != want {
			t.Errorf("%s = %#v, want %#v", key, got, want)
		}
	}
	if merges, _ := md.Value("tokenizer.ggml.merges"); len(merges.([]string)) == 0 {
		t.Error("no merges")
	}
	shapes := map[string][]uint64{}
	for _, ti := range md.Tensors {
		shapes[ti.Name] = ti.Ne
	}
	for name, ne := range map[string][]uint64{
		"token_embd.weight": {64, uint64(n)}, "blk.1.attn_q.weight": {64, 128}, "blk.1.attn_k.weight": {64, 64},
		"blk.1.attn_output.weight": {128, 64}, "blk.1.attn_q_norm.weight": {32}, "blk.1.attn_k_norm.weight": {32},
	} {
		if !slices.Equal(shapes[name], ne) {
			t.Errorf("%s: ne %v, want %v", name, shapes[name], ne)
		}
	}
	if len(shapes) != 2+11*2 {
		t.Errorf("%d tensors, want %d (no output.weight, no cls.output)", len(shapes), 2+11*2)
	}
}

func TestConvertQwen3Reranker(t *testing.T) {
	for _, tied := range []bool{false, true} {
		cfg := testmodel.TinyQwen3(2)
		cfg.Reranker, cfg.Tied = true, tied
		md, warnings, err := convertMistral(writeTinyQwen3(t, cfg, nil))
		if err != nil {
			t.Fatalf("tied %v: %v", tied, err)
		}
		if len(warnings) != 1 || !strings.Contains(warnings[0], "Qwen3-Reranker") {
			t.Errorf("tied %v: warnings %q", tied, warnings)
		}
		for key, want := range map[string]any{
			"qwen3.pooling_type": uint32(4), "tokenizer.ggml.add_eos_token": false,
			keys.RerankPrefix: testmodel.Qwen3RerankPrefix, keys.RerankSuffix: testmodel.Qwen3RerankSuffix,
			keys.Instruction: testmodel.Qwen3Instruction,
		} {
			if got, _ := md.Value(key); got != want {
				t.Errorf("tied %v: %s = %#v, want %#v", tied, key, got, want)
			}
		}
		if labels, _ := md.Value("qwen3.classifier.output_labels"); !slices.Equal(labels.([]string), []string{"yes", "no"}) {
			t.Errorf("tied %v: labels %v", tied, labels)
		}
		tensor(t, md, "cls.output.weight", []uint64{64, 2})
	}
}

func TestConvertQwen3Refuses(t *testing.T) {
	reranker := testmodel.TinyQwen3(3)
	reranker.Reranker, reranker.Tied = true, true
	for _, c := range []struct {
		name string
		cfg  testmodel.Qwen3Config
		edit func(map[string]any)
		want string
	}{
		{"sliding window", testmodel.TinyQwen3(3), func(c map[string]any) { c["use_sliding_window"] = true }, "use_sliding_window"},
		{"untied without lm_head", reranker, func(c map[string]any) { c["tie_word_embeddings"] = false }, "lm_head.weight"},
		{"wrong head dim", testmodel.TinyQwen3(3), func(c map[string]any) { c["head_dim"] = 16 }, "q_proj.weight has shape [128 64], want [64 64]"},
	} {
		if _, _, err := convertMistral(writeTinyQwen3(t, c.cfg, c.edit)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error about %q", c.name, err, c.want)
		}
	}
}

// An "Instruct: …\nQuery:" prompt, Qwen3-Embedding's or e5-mistral's (a
// space after the colon), becomes a template for a request's instruction;
// other prompts take none.
func TestInstructionPrefix(t *testing.T) {
	for prompt, want := range map[string][2]string{
		testmodel.Qwen3QueryPrompt:         {testmodel.Qwen3Instruction, "Instruct: {instruction}\nQuery:"},
		testmodel.MistralQueryPrompt:       {testmodel.Qwen3Instruction, "Instruct: {instruction}\nQuery: "},
		"query: ":                          {"", ""},
		"Instruct: no query line":          {"", ""},
		"Represent this sentence\nQuery: ": {"", ""},
	} {
		w := gguf.NewWriter()
		writeInstructionPrefix(w, prompt)
		path := filepath.Join(t.TempDir(), "p.gguf")
		if err := w.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		md, err := gguf.ReadMetadata(path)
		if err != nil {
			t.Fatal(err)
		}
		instruction, _ := md.Value(keys.Instruction)
		template, _ := md.Value(keys.InstructionQueryPrefix)
		if got := [2]string{fmtOrEmpty(instruction), fmtOrEmpty(template)}; got != want {
			t.Errorf("%q: %q, want %q", prompt, got, want)
		}
	}
}

func fmtOrEmpty(v any) string {
	s, _ := v.(string)
	return s
}
