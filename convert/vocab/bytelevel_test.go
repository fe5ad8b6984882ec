package vocab

import (
	"slices"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/convert/gguf"
)

// qwenJSON is a byte-level tokenizer.json shaped as Qwen2's and Qwen3's:
// NFC, Qwen2's Split then ByteLevel, and added tokens.
func qwenJSON(normalizer string) string {
	return `{"normalizer": ` + normalizer + `,
		"pre_tokenizer": {"type": "Sequence", "pretokenizers": [
			{"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}, "behavior": "Isolated"},
			{"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]},
		"post_processor": {"type": "ByteLevel"}, "decoder": {"type": "ByteLevel"},
		"added_tokens": [{"id": 4, "content": "<|endoftext|>", "special": true}, {"id": 5, "content": "<think>", "special": false}],
		"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "Ġ": 2, "ab": 3}, "merges": [["a", "b"]]}}`
}

func TestByteLevelBPE(t *testing.T) {
	v := fromFiles(t, map[string]string{
		"tokenizer.json":        qwenJSON(`{"type": "NFC"}`),
		"tokenizer_config.json": `{"eos_token": "<|endoftext|>", "bos_token": null, "add_bos_token": false}`,
	})
	if v.Model != ModelBPE || v.Pre != "qwen2" || !slices.Equal(v.Merges, []string{"a b"}) || v.Scores != nil {
		t.Errorf("model %q pre %q merges %q scores %v", v.Model, v.Pre, v.Merges, v.Scores)
	}
	if !slices.Equal(v.Tokens, []string{"a", "b", "Ġ", "ab", "<|endoftext|>", "<think>"}) ||
		v.Types[4] != TypeControl || v.Types[5] != TypeUserDefined || v.Types[0] != TypeNormal {
		t.Errorf("tokens %q types %v", v.Tokens, v.Types)
	}
	if v.EOS != 4 || v.BOS != -1 || v.AddBOS || v.AddEOS || len(v.Warnings) > 0 {
		t.Errorf("eos %d bos %d add %v/%v warnings %q", v.EOS, v.BOS, v.AddBOS, v.AddEOS, v.Warnings)
	}
	w := gguf.NewWriter()
	if err := v.WriteGGUF(w); err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/v.gguf"
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	md, err := gguf.ReadMetadata(path)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]any{"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "qwen2"} {
		if got, _ := md.Value(key); got != want {
			t.Errorf("%s = %v, want %v", key, got, want)
		}
	}
	if merges, _ := md.Value("tokenizer.ggml.merges"); !slices.Equal(merges.([]string), []string{"a b"}) {
		t.Errorf("merges %v", merges)
	}
	// GPT-2's own layout: ByteLevel splitting by itself.
	gpt2 := `{"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false},
		"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}}`
	if v := fromFiles(t, map[string]string{"tokenizer.json": gpt2}); v.Pre != "gpt-2" {
		t.Errorf("GPT-2 pre-tokenizer %q", v.Pre)
	}
	// llama.cpp applies no normalizer: one that changes text is refused.
	_, err = FromDir(writeDir(t, map[string]string{"tokenizer.json": qwenJSON(`{"type": "NFKC"}`)}))
	if err == nil || !strings.Contains(err.Error(), "NFKC") {
		t.Errorf("NFKC normalizer: %v", err)
	}
}

// GPT-2's byte-to-character table: printable bytes are themselves, the
// space is Ġ, the newline Ċ, and all 256 characters differ.
func TestByteToUnicode(t *testing.T) {
	table := ByteToUnicode()
	if table['a'] != 'a' || table[' '] != 'Ġ' || table['\n'] != 'Ċ' || table[0xFF] != 0xFF {
		t.Errorf("a %q space %q newline %q 0xFF %q", table['a'], table[' '], table['\n'], table[0xFF])
	}
	seen := map[rune]bool{}
	for _, r := range table {
		seen[r] = true
	}
	if len(seen) != 256 || ByteLevelText("a b\n") != "aĠbĊ" {
		t.Errorf("%d distinct characters; %q", len(seen), ByteLevelText("a b\n"))
	}
}
