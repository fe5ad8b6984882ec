package llama

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// Quantize takes every output type convert quantizes, by the same name,
// and writes a file llama.cpp loads. Where the tiny model's 64-wide rows fit
// the type's blocks, its matrices are stored as that ggml type (ggml.h's
// enum ggml_type), which checks that each name reaches llama.cpp as the
// llama_ftype it means; k-quants need 256-wide rows and fall back.
func TestQuantizeEveryOutputType(t *testing.T) {
	quietLlamaLog(t)
	Init("")
	cfg := testmodel.Tiny(17, "mean")
	dir := t.TempDir()
	in := filepath.Join(dir, "f32.gguf")
	if err := testmodel.WriteGGUF(in, testmodel.Generate(cfg), cfg, "f32"); err != nil {
		t.Fatal(err)
	}
	matrixType := map[string]gguf.TensorType{"f32": 0, "f16": 1, "bf16": 30, "q8_0": 8, "q5_0": 6, "q4_0": 2}
	for _, name := range QuantTypes() {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(dir, name+".gguf")
			if err := Quantize(in, out, name, 2, nil); err != nil {
				t.Fatal(err)
			}
			meta, err := gguf.ReadMetadata(out)
			if err != nil {
				t.Fatal(err)
			}
			if want, ok := matrixType[name]; ok {
				for _, ti := range meta.Tensors {
					if ti.Name == "blk.0.attn_q.weight" && ti.Type != want {
						t.Errorf("%s is stored as ggml type %d, want %d", ti.Name, ti.Type, want)
					}
				}
			}
			m, err := LoadModel(out, ModelParams{})
			if err != nil {
				t.Fatal(err)
			}
			m.Close()
		})
	}
	// What convert hands to the quantizer, it takes.
	for _, name := range gguf.FileTypeNames() {
		ft, _ := gguf.ParseFileType(name)
		if _, written := ft.TensorType(); !written && !slices.Contains(QuantTypes(), name) {
			t.Errorf("convert would send %s to the quantizer, which refuses it", name)
		}
	}
	if err := Quantize(in, filepath.Join(dir, "f32.out.gguf"), "f32", 2, nil); err == nil || !strings.Contains(err.Error(), "not a quantization") {
		t.Errorf("quantize to f32: %v", err)
	}
}
