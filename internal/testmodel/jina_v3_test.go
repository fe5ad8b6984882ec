package testmodel

import (
	"fmt"
	"slices"
	"testing"

	"github.com/rerank-api/rerank-api/convert/checkpoint"
)

// XLMRobertaLoRA's tensors, stated independently of jina_v3.go: torch
// parametrize keeps each adapted module's weight as
// parametrizations.weight.original and modeling_lora.py's
// LoRAParametrization stacks one adapter per task, A (tasks, rank, in) and
// B (tasks, out, rank) for a Linear, A (tasks, rows, rank) and B (tasks,
// rank, dim) for an Embedding.
func TestWriteJinaV3HFLayout(t *testing.T) {
	cfg := Tiny(9, "mean")
	cfg.TypeVocab, cfg.Tokenizer = 1, "ugm"
	m := GenerateJinaV3(cfg)
	dir := t.TempDir()
	if err := WriteJinaV3HF(dir, m, cfg); err != nil {
		t.Fatal(err)
	}
	c, err := checkpoint.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tasks, rank, h, ff, vocab := int64(len(JinaV3Tasks)), int64(4), int64(cfg.Hidden), int64(cfg.Intermediate), int64(m.VocabSize())
	want := map[string][]int64{}
	adapted := func(module string, out, in int64, embedding bool) {
		p := "roberta." + module + ".parametrizations.weight."
		want[p+"original"] = []int64{out, in}
		if embedding {
			want[p+"0.lora_A"], want[p+"0.lora_B"] = []int64{tasks, out, rank}, []int64{tasks, rank, in}
		} else {
			want[p+"0.lora_A"], want[p+"0.lora_B"] = []int64{tasks, rank, in}, []int64{tasks, out, rank}
			want["roberta."+module+".bias"] = []int64{out}
		}
	}
	norm := func(name string) {
		want["roberta."+name+".weight"], want["roberta."+name+".bias"] = []int64{h}, []int64{h}
	}
	adapted("embeddings.word_embeddings", vocab, h, true)
	adapted("embeddings.token_type_embeddings", 1, h, true)
	norm("emb_ln")
	for i := range cfg.Layers {
		p := fmt.Sprintf("encoder.layers.%d.", i)
		adapted(p+"mixer.Wqkv", 3*h, h, false)
		adapted(p+"mixer.out_proj", h, h, false)
		adapted(p+"mlp.fc1", ff, h, false)
		adapted(p+"mlp.fc2", h, ff, false)
		norm(p + "norm1")
		norm(p + "norm2")
	}
	adapted("pooler.dense", h, h, false)
	for _, ti := range c.Tensors() {
		shape, ok := want[ti.Name]
		if !ok {
			t.Errorf("unexpected tensor %s", ti.Name)
			continue
		}
		delete(want, ti.Name)
		if !slices.Equal(ti.Shape, shape) {
			t.Errorf("%s has shape %v, want %v", ti.Name, ti.Shape, shape)
		}
	}
	for name := range want {
		t.Errorf("%s is missing", name)
	}
	// Task 2's B of the first layer's Wqkv is the reference's, row-major.
	all, err := c.Float32("roberta.encoder.layers.0.mixer.Wqkv.parametrizations.weight.0.lora_B")
	if err != nil {
		t.Fatal(err)
	}
	b := m.Layers[0].QKVLoRA.B[2].Data
	if got := all[2*len(b) : 3*len(b)]; !slices.Equal(got, b) {
		t.Error("lora_B does not stack the tasks' B in order")
	}
}
