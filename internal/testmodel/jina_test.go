package testmodel

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/convert/vocab"
	"github.com/rerank-api/rerank-api/internal/reference"
)

// The flash layout, stated independently of jina.go: each checkpoint tensor
// of a jina-reranker-v2-style directory and the reference rows it holds.
func flashExpected(w *reference.Weights) map[string][]float32 {
	want := map[string][]float32{
		"roberta.embeddings.word_embeddings.weight":       w.WordEmbeddings.Data,
		"roberta.embeddings.token_type_embeddings.weight": w.TokenTypeEmbeddings.Data,
		"roberta.emb_ln.weight":                           w.EmbeddingNorm.Weight,
		"roberta.emb_ln.bias":                             w.EmbeddingNorm.Bias,
		"classifier.dense.weight":                         w.Pooler.Weight.Data,
		"classifier.dense.bias":                           w.Pooler.Bias,
		"classifier.out_proj.weight":                      w.Classifier.Weight.Data,
		"classifier.out_proj.bias":                        w.Classifier.Bias,
	}
	for i, l := range w.Layers {
		p := fmt.Sprintf("roberta.encoder.layers.%d.", i)
		want[p+"mixer.Wqkv.weight"] = slices.Concat(l.Query.Weight.Data, l.Key.Weight.Data, l.Value.Weight.Data)
		want[p+"mixer.Wqkv.bias"] = slices.Concat(l.Query.Bias, l.Key.Bias, l.Value.Bias)
		want[p+"mixer.out_proj.weight"], want[p+"mixer.out_proj.bias"] = l.AttentionOutput.Weight.Data, l.AttentionOutput.Bias
		want[p+"norm1.weight"], want[p+"norm1.bias"] = l.AttentionNorm.Weight, l.AttentionNorm.Bias
		want[p+"mlp.fc1.weight"], want[p+"mlp.fc1.bias"] = l.Intermediate.Weight.Data, l.Intermediate.Bias
		want[p+"mlp.fc2.weight"], want[p+"mlp.fc2.bias"] = l.Output.Weight.Data, l.Output.Bias
		want[p+"norm2.weight"], want[p+"norm2.bias"] = l.OutputNorm.Weight, l.OutputNorm.Bias
	}
	return want
}

func TestWriteXLMRFlashHF(t *testing.T) {
	cfg := Tiny(5, "rank")
	cfg.TypeVocab, cfg.Tokenizer = 1, "ugm"
	w := Generate(cfg)
	dir := t.TempDir()
	if err := WriteXLMRFlashHF(dir, w, cfg, checkpoint.F16); err != nil {
		t.Fatal(err)
	}
	c, err := checkpoint.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := flashExpected(w)
	for _, ti := range c.Tensors() {
		got, err := c.Float32(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		if ti.Name == "roberta.embeddings.position_embeddings.weight" {
			// XLM-R positions start at pad_token_id+1 = 2.
			want[ti.Name], got = w.PositionEmbeddings.Data, got[2*w.HiddenSize:]
		}
		exp, ok := want[ti.Name]
		if !ok {
			t.Errorf("unexpected tensor %s", ti.Name)
			continue
		}
		delete(want, ti.Name)
		if ti.DType != checkpoint.F16 || len(got) != len(exp) {
			t.Errorf("%s: %s with %d values, want F16 with %d", ti.Name, ti.DType, len(got), len(exp))
			continue
		}
		for i := range exp {
			if !closeTo(checkpoint.F16, got[i], exp[i]) {
				t.Errorf("%s[%d] = %g, want %g", ti.Name, i, got[i], exp[i])
				break
			}
		}
	}
	for name := range want {
		t.Errorf("%s is missing", name)
	}

	// jina-reranker-v2's config names its classes through auto_map only.
	var config map[string]any
	if raw, err := os.ReadFile(filepath.Join(dir, "config.json")); err != nil || json.Unmarshal(raw, &config) != nil {
		t.Fatalf("config.json: %v", err)
	}
	if _, ok := config["model_type"]; ok || config["auto_map"] == nil || config["max_position_embeddings"] != float64(cfg.MaxPositions+2) {
		t.Errorf("config.json: model_type %v, auto_map %v, max_position_embeddings %v", config["model_type"], config["auto_map"], config["max_position_embeddings"])
	}

	// The tokenizer converts to XLM-R's: a UGM vocabulary that wraps text in
	// <s> ... </s>, with the pieces of the GGUF test vocabulary.
	v, err := vocab.FromDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if v.Model != vocab.ModelUGM || v.BOS != CLSID || v.EOS != SEPID || !v.AddBOS || !v.AddEOS || !v.AddSpacePrefix || len(v.Warnings) > 0 {
		t.Errorf("vocabulary %s bos %d eos %d add %v/%v space prefix %v, warnings %q", v.Model, v.BOS, v.EOS, v.AddBOS, v.AddEOS, v.AddSpacePrefix, v.Warnings)
	}
	for i, tok := range cfg.vocab() {
		if v.Tokens[i] != sentencePieceForm(tok) {
			t.Fatalf("token %d is %q, want %q", i, v.Tokens[i], sentencePieceForm(tok))
		}
	}
}
