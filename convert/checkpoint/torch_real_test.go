package checkpoint

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

// tinyModels holds checkpoints written by real torch.save (transformers'
// create_dummy_models.py, torch 1.x/2.x era), kept in the repository's
// testdata/ with their origin and licence.
const tinyModels = "../../testdata/tiny-models"

func openTiny(t *testing.T, name string) (*Checkpoint, map[string]any) {
	t.Helper()
	dir := filepath.Join(tinyModels, name)
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatalf("reference model missing: %v", err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, cfg
}

func TestRealBertCheckpoint(t *testing.T) {
	c, cfg := openTiny(t, "BertForSequenceClassification")
	dim := func(key string) int64 { return int64(cfg[key].(float64)) }
	h, ff := dim("hidden_size"), dim("intermediate_size")
	vocab, pos, types := dim("vocab_size"), dim("max_position_embeddings"), dim("type_vocab_size")

	// The names and shapes transformers' BertForSequenceClassification has
	// for this config; num_labels defaults to 2 without id2label.
	want := map[string][]int64{
		"bert.embeddings.position_ids":                 {1, pos},
		"bert.embeddings.word_embeddings.weight":       {vocab, h},
		"bert.embeddings.position_embeddings.weight":   {pos, h},
		"bert.embeddings.token_type_embeddings.weight": {types, h},
		"bert.embeddings.LayerNorm.weight":             {h},
		"bert.embeddings.LayerNorm.bias":               {h},
		"bert.pooler.dense.weight":                     {h, h},
		"bert.pooler.dense.bias":                       {h},
		"classifier.weight":                            {2, h},
		"classifier.bias":                              {2},
	}
	for i := range dim("num_hidden_layers") {
		l := fmt.Sprintf("bert.encoder.layer.%d.", i)
		for _, d := range []struct {
			name    string
			out, in int64
		}{
			{"attention.self.query", h, h}, {"attention.self.key", h, h}, {"attention.self.value", h, h},
			{"attention.output.dense", h, h}, {"intermediate.dense", ff, h}, {"output.dense", h, ff},
		} {
			want[l+d.name+".weight"], want[l+d.name+".bias"] = []int64{d.out, d.in}, []int64{d.out}
		}
		for _, n := range []string{"attention.output.LayerNorm", "output.LayerNorm"} {
			want[l+n+".weight"], want[l+n+".bias"] = []int64{h}, []int64{h}
		}
	}
	got := map[string][]int64{}
	for _, ti := range c.Tensors() {
		got[ti.Name] = ti.Shape
		if wantType := F32; ti.Name == "bert.embeddings.position_ids" {
			wantType = I64
			if ti.DType != wantType {
				t.Errorf("%s: dtype %s, want %s", ti.Name, ti.DType, wantType)
			}
		} else if ti.DType != wantType {
			t.Errorf("%s: dtype %s, want %s", ti.Name, ti.DType, wantType)
		}
	}
	if !reflect.DeepEqual(got, want) {
		for name := range want {
			if !reflect.DeepEqual(got[name], want[name]) {
				t.Errorf("%s: shape %v, want %v", name, got[name], want[name])
			}
		}
		t.Errorf("%d tensors, want %d", len(got), len(want))
	}

	// transformers initialises LayerNorm to weight 1, bias 0, and zeroes
	// the padding row of the word embeddings (pad_token_id 0).
	for name := range want {
		if filepath.Ext(name) == ".weight" && filepath.Ext(name[:len(name)-7]) == ".LayerNorm" {
			checkAll(t, c, name, 1)
			checkAll(t, c, name[:len(name)-7]+".bias", 0)
		}
	}
	words := mustFloats(t, c, "bert.embeddings.word_embeddings.weight")
	if !slices.Equal(words[:h], make([]float32, h)) {
		t.Errorf("padding row %v, want zeros", words[:h])
	}
	// The rest is normal with std initializer_range.
	var sum, sq float64
	for _, x := range words[h:] {
		sum, sq = sum+float64(x), sq+float64(x)*float64(x)
	}
	n := float64(len(words) - int(h))
	if std := math.Sqrt(sq/n - (sum/n)*(sum/n)); math.Abs(std-cfg["initializer_range"].(float64)) > 0.001 {
		t.Errorf("word embeddings std %.4f, want %.2f", std, cfg["initializer_range"])
	}
	// Values read independently with Python's pickle and struct modules
	// (no torch): the first elements and the float64 sum.
	cls := mustFloats(t, c, "classifier.weight")
	if !slices.Equal(cls[:3], []float32{-0.0026780676562339067, -0.0010237880051136017, 0.022361192852258682}) {
		t.Errorf("classifier.weight[:3] = %v", cls[:3])
	}
	for name, wantSum := range map[string]float64{
		"classifier.weight":                        -0.019136605405947194,
		"bert.embeddings.word_embeddings.weight":   -3.9362660385157824,
		"bert.encoder.layer.4.output.dense.weight": 0.7523445117403753,
	} {
		var s float64
		for _, x := range mustFloats(t, c, name) {
			s += float64(x)
		}
		if math.Abs(s-wantSum) > 1e-12 {
			t.Errorf("sum of %s = %.17g, want %.17g", name, s, wantSum)
		}
	}
	raw, err := c.Raw("bert.embeddings.position_ids")
	if err != nil {
		t.Fatal(err)
	}
	for i := range pos {
		if v := int64(binary.LittleEndian.Uint64(raw[8*i:])); v != i {
			t.Fatalf("position_ids[%d] = %d", i, v)
		}
	}
}

func TestRealT5CheckpointTiedStorage(t *testing.T) {
	c, cfg := openTiny(t, "T5ForConditionalGeneration")
	if n := len(c.Tensors()); n != 113 {
		t.Errorf("%d tensors, want 113", n)
	}
	// torch.save stores the four tied embedding matrices once (storage 0).
	shared := mustFloats(t, c, "shared.weight")
	if len(shared) != int(cfg["vocab_size"].(float64)*cfg["d_model"].(float64)) {
		t.Errorf("shared.weight has %d elements", len(shared))
	}
	for _, name := range []string{"encoder.embed_tokens.weight", "decoder.embed_tokens.weight", "lm_head.weight"} {
		if !slices.Equal(mustFloats(t, c, name), shared) {
			t.Errorf("%s differs from shared.weight", name)
		}
	}
	// T5 initialises layer norms to initializer_factor.
	checkAll(t, c, "encoder.final_layer_norm.weight", float32(cfg["initializer_factor"].(float64)))
	if info, _ := c.Info("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"); !slices.Equal(info.Shape, []int64{8, 4}) {
		t.Errorf("relative_attention_bias shape %v, want [8 4]", info.Shape)
	}
}

func mustFloats(t *testing.T, c *Checkpoint, name string) []float32 {
	t.Helper()
	v, err := c.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func checkAll(t *testing.T, c *Checkpoint, name string, want float32) {
	t.Helper()
	for i, x := range mustFloats(t, c, name) {
		if x != want {
			t.Errorf("%s[%d] = %g, want %g", name, i, x, want)
			return
		}
	}
}
