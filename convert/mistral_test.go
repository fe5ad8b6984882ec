package convert

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

func TestPairRotaryRowsByHand(t *testing.T) {
	// Two heads of size 4, one input: HF pairs rows (0, 2) and (1, 3) of
	// each head; llama.cpp wants them adjacent.
	got := pairRotaryRows(2, 1)([]float32{0, 1, 2, 3, 4, 5, 6, 7})
	if want := []float32{0, 2, 1, 3, 4, 6, 5, 7}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// llama.cpp's rotary embedding of the permuted projection is the
// permutation of transformers' rotary embedding of the original one, so
// every attention score is unchanged.
func TestPairRotaryRowsMatchesRotateHalf(t *testing.T) {
	const heads, headDim, cols, pos, theta = 2, 8, 3, 5, 10000.0
	r := rand.New(rand.NewPCG(1, 2))
	w, x := make([]float32, heads*headDim*cols), make([]float32, cols)
	for i := range w {
		w[i] = float32(r.NormFloat64())
	}
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	project := func(w []float32) []float64 {
		y := make([]float64, heads*headDim)
		for o := range y {
			for i, xi := range x {
				y[o] += float64(w[o*cols+i]) * float64(xi)
			}
		}
		return y
	}
	angle := func(j int) float64 { return pos * math.Pow(theta, -2*float64(j)/headDim) }
	rotate := func(y []float64, a, b, j int) {
		sin, cos := math.Sincos(angle(j))
		y[a], y[b] = y[a]*cos-y[b]*sin, y[b]*cos+y[a]*sin
	}
	hf, llama := project(w), project(pairRotaryRows(heads, cols)(w))
	for h := range heads {
		for j := range headDim / 2 {
			rotate(hf, h*headDim+j, h*headDim+j+headDim/2, j) // rotate_half
			rotate(llama, h*headDim+2*j, h*headDim+2*j+1, j)  // GGML_ROPE_TYPE_NORM
		}
	}
	for h := range heads {
		for s := range 2 {
			for j := range headDim / 2 {
				a, b := hf[h*headDim+s*headDim/2+j], llama[h*headDim+2*j+s]
				if math.Abs(a-b) > 1e-12 {
					t.Fatalf("head %d pair %d: transformers %v, llama.cpp %v", h, j, a, b)
				}
			}
		}
	}
}

// writeTinyMistral writes the test model's HF directory, with edit applied
// to its config.json.
func writeTinyMistral(t *testing.T, edit func(config map[string]any)) string {
	t.Helper()
	dir := t.TempDir()
	cfg := testmodel.TinyMistral(3)
	if err := testmodel.WriteMistralHF(dir, testmodel.GenerateMistral(cfg), cfg); err != nil {
		t.Fatal(err)
	}
	editConfig(t, dir, edit)
	return dir
}

func convertMistral(dir string) (*gguf.Metadata, []string, error) {
	var warnings []string
	out := filepath.Join(dir, "out.gguf")
	err := Convert(context.Background(), Options{Input: dir, Output: out, OutType: "f16", Warn: func(msg string) { warnings = append(warnings, msg) }})
	if err != nil {
		return nil, warnings, err
	}
	md, err := gguf.ReadMetadata(out)
	return md, warnings, err
}

func TestConvertMistralLayout(t *testing.T) {
	dir := writeTinyMistral(t, nil)
	// A checkpoint saved from MistralForCausalLM puts "model." before
	// the decoder's names.
	ckpt, err := checkpoint.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var prefixed []checkpoint.NamedTensor
	for _, info := range ckpt.Tensors() {
		raw, err := ckpt.Raw(info.Name)
		if err != nil {
			t.Fatal(err)
		}
		prefixed = append(prefixed, checkpoint.NamedTensor{Name: "model." + info.Name, Shape: info.Shape, DType: info.DType, Data: raw})
	}
	ckpt.Close()
	if err := checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), prefixed, nil); err != nil {
		t.Fatal(err)
	}
	md, warnings, err := convertMistral(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "web_search_query") {
		t.Errorf("warnings: %q", warnings)
	}
	for key, want := range map[string]any{
		"general.file_type": uint32(1), "llama.context_length": uint32(64), "llama.vocab_size": uint32(len(testmodel.MistralVocab())),
		"llama.attention.head_count": uint32(4), "llama.attention.head_count_kv": uint32(2), "llama.rope.dimension_count": uint32(16),
		"llama.rope.freq_base": float32(10000), "llama.attention.layer_norm_rms_epsilon": float32(1e-5), "llama.pooling_type": uint32(3),
	} {
		if got, _ := md.Value(key); got != want {
			t.Errorf("%s = %#v, want %#v", key, got, want)
		}
	}
	shapes := map[string][]uint64{}
	for _, ti := range md.Tensors {
		shapes[ti.Name] = ti.Ne
	}
	for name, ne := range map[string][]uint64{
		"token_embd.weight": {64, uint64(len(testmodel.MistralVocab()))}, "blk.1.attn_q.weight": {64, 64},
		"blk.1.attn_k.weight": {64, 32}, "blk.1.attn_output.weight": {64, 64}, "blk.1.ffn_gate.weight": {64, 128},
		"blk.1.ffn_down.weight": {128, 64}, "blk.1.ffn_norm.weight": {64}, "output_norm.weight": {64},
	} {
		if !slices.Equal(shapes[name], ne) {
			t.Errorf("%s: ne %v, want %v", name, shapes[name], ne)
		}
	}
	if len(shapes) != 2+9*2 {
		t.Errorf("%d tensors, want %d", len(shapes), 2+9*2)
	}
}

func TestConvertMistralRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(map[string]any)
		want string
	}{
		{"rope scaling", func(c map[string]any) { c["rope_scaling"] = map[string]any{"type": "linear", "factor": 2} }, "rope_scaling"},
		{"gelu", func(c map[string]any) { c["hidden_act"] = "gelu" }, "silu"},
		{"uneven groups", func(c map[string]any) { c["num_key_value_heads"] = 3 }, "key/value heads"},
		{"wrong KV heads", func(c map[string]any) { c["num_key_value_heads"] = 4 }, "k_proj.weight has shape [32 64], want [64 64]"},
		{"biases", func(c map[string]any) { c["attention_bias"] = true }, "bias"},
	} {
		if _, _, err := convertMistral(writeTinyMistral(t, c.edit)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error about %q", c.name, err, c.want)
		}
	}
	// Mistral's sliding window is not llama.cpp's to apply.
	_, warnings, err := convertMistral(writeTinyMistral(t, func(c map[string]any) { c["sliding_window"] = 16 }))
	if err != nil || !strings.Contains(strings.Join(warnings, "\n"), "sliding_window 16 is ignored") {
		t.Errorf("sliding window 16 of 64 positions: %v, warnings %q", err, warnings)
	}
}
