package convert

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// A BertForMaskedLM converts to the bert GGUF, marked SPLADE, and its
// masked-LM head to the heads file: the decoder the word embeddings when
// tied (no decoder.weight in a safetensors checkpoint, one sharing its
// storage in an older pytorch_model.bin), its own matrix when not, in f32
// for an f32 conversion and f16 otherwise.
func TestConvertSPLADE(t *testing.T) {
	for _, c := range []struct {
		name    string
		tied    bool
		outType string
		decoder gguf.TensorType
		torch   bool // pytorch_model.bin with the tied decoder's tensors in it
	}{
		{"tied f32", true, "f32", gguf.TensorF32, false},
		{"untied f32", false, "f32", gguf.TensorF32, false},
		{"tied f16", true, "f16", gguf.TensorF16, false},
		{"tied pytorch_model.bin", true, "f32", gguf.TensorF32, true},
		{"untied pytorch_model.bin", false, "f32", gguf.TensorF32, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := testmodel.Tiny(91, "cls")
			w := testmodel.GenerateSPLADE(cfg, c.tied)
			dir := t.TempDir()
			if err := testmodel.WriteHF(dir, w, cfg, testmodel.HFOptions{Arch: "BertForMaskedLM", DType: checkpoint.F32, Tokenizer: "wordpiece"}); err != nil {
				t.Fatal(err)
			}
			if c.torch {
				if err := testmodel.WriteSPLADETorch(dir, w, cfg); err != nil {
					t.Fatal(err)
				}
			}
			var warnings []string
			out := filepath.Join(t.TempDir(), "splade.gguf")
			opts := Options{Input: dir, Output: out, OutType: c.outType, Warn: func(m string) { warnings = append(warnings, m) }}
			if err := Convert(context.Background(), opts); err != nil {
				t.Fatal(err)
			}
			if len(warnings) != 0 {
				t.Errorf("warnings %q: a SPLADE model needs no pooling config", warnings)
			}
			m, err := gguf.ReadMetadata(out)
			if err != nil {
				t.Fatal(err)
			}
			want(t, m, keys.SPLADE, true)
			want(t, m, keys.HeadsFile, "splade.heads.gguf")
			for _, ti := range m.Tensors {
				if strings.HasPrefix(ti.Name, "cls.") {
					t.Errorf("the model GGUF holds %s, which llama.cpp would refuse", ti.Name)
				}
			}
			h, err := gguf.ReadMetadata(HeadsPath(out))
			if err != nil {
				t.Fatal(err)
			}
			vocab := uint64(w.VocabSize())
			tensor(t, h, keys.MLMDenseWeight, []uint64{64, 64})
			tensor(t, h, keys.MLMNormBias, []uint64{64})
			tensor(t, h, keys.MLMDecoderWeight, []uint64{64, vocab})
			tensor(t, h, keys.MLMDecoderBias, []uint64{vocab})
			data, err := os.ReadFile(HeadsPath(out))
			if err != nil {
				t.Fatal(err)
			}
			// Compare the stored values, the decoder's rounded as stored.
			for _, ref := range []struct {
				name string
				want []float32
			}{
				{keys.MLMDecoderWeight, w.MLM.Decoder.Data},
				{keys.MLMDecoderBias, w.MLM.Bias},
				{keys.MLMDenseWeight, w.MLM.Dense.Weight.Data},
				{keys.MLMNormWeight, w.MLM.Norm.Weight},
			} {
				got, typ := tensorValues(t, h, data, ref.name)
				if ref.name == keys.MLMDecoderWeight && typ != c.decoder {
					t.Errorf("decoder stored as %v, want %v", typ, c.decoder)
				}
				for i, v := range ref.want {
					if typ == gguf.TensorF16 {
						v = gguf.Float32FromF16(gguf.F16FromFloat32(v))
					}
					if got[i] != v {
						t.Fatalf("%s[%d] = %v, want %v", ref.name, i, got[i], v)
					}
				}
			}
		})
	}
}

// A masked-LM head with an activation other than BERT's erf GELU is
// refused by name rather than served wrong.
func TestConvertSPLADERejectsActivation(t *testing.T) {
	cfg := testmodel.Tiny(92, "cls")
	dir := t.TempDir()
	if err := testmodel.WriteHF(dir, testmodel.GenerateSPLADE(cfg, true), cfg, testmodel.HFOptions{Arch: "BertForMaskedLM", Tokenizer: "wordpiece"}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	raw = []byte(strings.Replace(string(raw), `"hidden_act": "gelu"`, `"hidden_act": "relu"`, 1))
	if err := os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "m.gguf")
	err = Convert(context.Background(), Options{Input: dir, Output: out, OutType: "f32"})
	if err == nil || !strings.Contains(err.Error(), `hidden_act "relu"`) {
		t.Fatalf("error %v, want one naming the activation", err)
	}
}

// tensorValues reads an f32 or f16 tensor of a GGUF file's bytes.
func tensorValues(t *testing.T, m *gguf.Metadata, data []byte, name string) ([]float32, gguf.TensorType) {
	t.Helper()
	for _, ti := range m.Tensors {
		if ti.Name != name {
			continue
		}
		n := uint64(1)
		for _, d := range ti.Ne {
			n *= d
		}
		at := uint64(m.DataOffset) + ti.Offset
		out := make([]float32, n)
		for i := range out {
			switch ti.Type {
			case gguf.TensorF32:
				out[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[at+4*uint64(i):]))
			case gguf.TensorF16:
				out[i] = gguf.Float32FromF16(binary.LittleEndian.Uint16(data[at+2*uint64(i):]))
			default:
				t.Fatalf("%s has type %v", name, ti.Type)
			}
		}
		return out, ti.Type
	}
	t.Fatalf("no tensor %s", name)
	return nil, 0
}
