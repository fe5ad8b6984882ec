package testmodel

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/convert/vocab"
)

// mistralBPE tokenizes one word as a tokenizers BPE model does: "▁" and the
// letters, then, while any adjacent pair has a merge, the pair of lowest
// rank joins.
func mistralBPE(word string, rank map[string]int) []string {
	parts := []string{"▁"}
	for _, r := range word {
		parts = append(parts, string(r))
	}
	for {
		best := -1
		for i := 0; i+1 < len(parts); i++ {
			r, ok := rank[parts[i]+" "+parts[i+1]]
			if ok && (best < 0 || r < rank[parts[best]+" "+parts[best+1]]) {
				best = i
			}
		}
		if best < 0 {
			return parts
		}
		parts = slices.Replace(parts, best, best+2, parts[best]+parts[best+1])
	}
}

// The merges WriteMistralHF writes turn every word into the one piece
// ExpectedMistralIDs predicts, and the tokenizer files convert to the SPM
// vocabulary e5-mistral's do: <s> before, </s> after, byte pieces typed.
func TestWriteMistralHFTokenizer(t *testing.T) {
	cfg := TinyMistral(1)
	dir := t.TempDir()
	if err := WriteMistralHF(dir, GenerateMistral(cfg), cfg); err != nil {
		t.Fatal(err)
	}
	var tok struct {
		Model struct {
			Vocab  map[string]int `json:"vocab"`
			Merges []string       `json:"merges"`
		} `json:"model"`
	}
	readJSONFile(t, filepath.Join(dir, "tokenizer.json"), &tok)
	rank := map[string]int{}
	for r, m := range tok.Model.Merges {
		rank[m] = r
	}
	for _, word := range append(mistralWords(), "a", "th") {
		parts := mistralBPE(word, rank)
		want := ExpectedMistralIDs(word)
		if len(parts) != 1 || int32(tok.Model.Vocab[parts[0]]) != want[1] || len(want) != 3 {
			t.Fatalf("%q: BPE gives %q, ExpectedMistralIDs %v", word, parts, want)
		}
	}

	v, err := vocab.FromDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if v.Model != vocab.ModelSPM || !slices.Equal(v.Tokens, MistralVocab()) || len(v.Warnings) > 0 {
		t.Fatalf("model %q, %d tokens, warnings %q", v.Model, len(v.Tokens), v.Warnings)
	}
	if v.BOS != 1 || v.EOS != 2 || v.UNK != 0 || !v.AddBOS || !v.AddEOS || !v.AddSpacePrefix {
		t.Errorf("specials: %+v", v)
	}
	if v.Types[3] != vocab.TypeByte || v.Types[258] != vocab.TypeByte || v.Types[259] != vocab.TypeNormal {
		t.Errorf("types around the byte pieces: %v", v.Types[2:261])
	}
}

func TestWriteMistralHFWeights(t *testing.T) {
	cfg := TinyMistral(2)
	d := GenerateMistral(cfg)
	dir := t.TempDir()
	if err := WriteMistralHF(dir, d, cfg); err != nil {
		t.Fatal(err)
	}
	c, err := checkpoint.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n := len(c.Tensors()); n != 2+9*cfg.Layers {
		t.Errorf("%d tensors, want %d", n, 2+9*cfg.Layers)
	}
	for name, want := range map[string][]float32{
		"embed_tokens.weight":              d.Embeddings.Data,
		"layers.1.self_attn.k_proj.weight": d.Layers[1].Key.Data,
		"layers.0.mlp.down_proj.weight":    d.Layers[0].Down.Data,
		"norm.weight":                      d.Norm,
	} {
		got, err := c.Float32(name)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if info, _ := c.Info("layers.0.self_attn.k_proj.weight"); !slices.Equal(info.Shape, []int64{32, 64}) {
		t.Errorf("k_proj shape %v, want [32 64]: 2 KV heads of 16", info.Shape)
	}
	var config map[string]any
	readJSONFile(t, filepath.Join(dir, "config.json"), &config)
	if config["num_key_value_heads"] != 2.0 || config["rope_theta"] != 10000.0 || !strings.HasPrefix(config["model_type"].(string), "mistral") {
		t.Errorf("config.json: %v", config)
	}
}

func TestGenerateMistralIsSeeded(t *testing.T) {
	a, b, c := GenerateMistral(TinyMistral(1)), GenerateMistral(TinyMistral(1)), GenerateMistral(TinyMistral(2))
	if !slices.Equal(a.Layers[1].Up.Data, b.Layers[1].Up.Data) || slices.Equal(a.Layers[1].Up.Data, c.Layers[1].Up.Data) {
		t.Error("weights do not follow the seed")
	}
}
