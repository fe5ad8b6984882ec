package convert

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
	"github.com/rerank-api/rerank-api/convert/segments"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

func writeCheckpoint(t *testing.T, cfg testmodel.Config, opts testmodel.HFOptions) string {
	t.Helper()
	dir := t.TempDir()
	if err := testmodel.WriteHF(dir, testmodel.Generate(cfg), cfg, opts); err != nil {
		t.Fatal(err)
	}
	return dir
}

// What the converter writes besides the weights: llama.cpp's hyperparameters
// and pooling, our serving keys, the head and segment rows of cross-encoders,
// XLM-R's shorter position table.
func TestConvertMetadata(t *testing.T) {
	cases := []struct {
		name  string
		cfg   testmodel.Config
		opts  testmodel.HFOptions
		check func(t *testing.T, m *gguf.Metadata)
	}{
		{"bert embedder", testmodel.Tiny(1, "mean"), testmodel.HFOptions{Arch: "BertModel", SentenceTransformers: true, Tokenizer: "wordpiece"}, func(t *testing.T, m *gguf.Metadata) {
			want(t, m, "bert.pooling_type", uint32(1))
			want(t, m, keys.Normalize, true)
			want(t, m, "bert.context_length", uint32(64))
			noTensor(t, m, "cls.weight") // the pooler is not part of an embedding model
		}},
		{"xlm-r embedder", func() testmodel.Config { c := testmodel.Tiny(2, "cls"); c.TypeVocab = 1; return c }(), testmodel.HFOptions{Arch: "XLMRobertaModel", SentenceTransformers: true, Tokenizer: "wordpiece", PositionIDs: true}, func(t *testing.T, m *gguf.Metadata) {
			want(t, m, "bert.pooling_type", uint32(2))
			want(t, m, "bert.context_length", uint32(64)) // the two unused rows dropped
			want(t, m, "tokenizer.ggml.token_type_count", uint32(1))
		}},
		{"bert cross-encoder", testmodel.Tiny(3, "rank"), testmodel.HFOptions{Arch: "BertForSequenceClassification", Tokenizer: "wordpiece"}, func(t *testing.T, m *gguf.Metadata) {
			want(t, m, "bert.pooling_type", uint32(4))
			want(t, m, keys.ScoreActivation, "sigmoid")
			vocab := len(testmodel.DefaultVocab())
			want(t, m, segments.OffsetKey, uint32(vocab))
			tensor(t, m, "token_embd.weight", []uint64{64, uint64(2 * vocab)})
			tensor(t, m, "cls.weight", []uint64{64, 64})
			tensor(t, m, "cls.output.weight", []uint64{64, 1})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := writeCheckpoint(t, c.cfg, c.opts)
			out := filepath.Join(t.TempDir(), "m.gguf")
			var steps int
			err := Convert(context.Background(), Options{Input: src, Output: out, OutType: "f16", Progress: func(done, total int, _ string) { steps = done }})
			if err != nil {
				t.Fatal(err)
			}
			m, err := gguf.ReadMetadata(out)
			if err != nil {
				t.Fatal(err)
			}
			if steps != len(m.Tensors) {
				t.Errorf("progress reached %d of %d tensors", steps, len(m.Tensors))
			}
			want(t, m, "general.file_type", uint32(1))
			c.check(t, m)
		})
	}
}

// Every output type is accepted: the float ones are written with their
// file type, the others go to the quantizer under the same name, the one
// list `quantize` takes too.
func TestConvertAcceptsEveryOutputType(t *testing.T) {
	src := writeCheckpoint(t, testmodel.Tiny(6, "cls"), testmodel.HFOptions{Arch: "BertModel", Tokenizer: "wordpiece"})
	for _, name := range gguf.FileTypeNames() {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "m.gguf")
			quantizedTo := ""
			quantize := func(in, out, typ string) error {
				quantizedTo = typ
				data, err := os.ReadFile(in)
				if err != nil {
					return err
				}
				return os.WriteFile(out, data, 0o644)
			}
			if err := Convert(context.Background(), Options{Input: src, Output: out, OutType: strings.ToUpper(name), Quantize: quantize}); err != nil {
				t.Fatal(err)
			}
			ft, _ := gguf.ParseFileType(name)
			m, err := gguf.ReadMetadata(out)
			if err != nil {
				t.Fatal(err)
			}
			if _, written := ft.TensorType(); written {
				want(t, m, "general.file_type", uint32(ft))
				if quantizedTo != "" {
					t.Errorf("%s went to the quantizer", name)
				}
			} else if quantizedTo != name {
				t.Errorf("the quantizer was asked for %q, want %q", quantizedTo, name)
			}
		})
	}
}

func TestConvertErrors(t *testing.T) {
	good := writeCheckpoint(t, testmodel.Tiny(4, "cls"), testmodel.HFOptions{Arch: "BertModel", Tokenizer: "wordpiece", DType: checkpoint.F16})
	noHead := writeCheckpoint(t, testmodel.Tiny(5, "cls"), testmodel.HFOptions{Arch: "BertModel", Tokenizer: "wordpiece"})
	// A checkpoint whose config claims a classifier its weights lack.
	cfgPath := filepath.Join(noHead, "config.json")
	data, _ := os.ReadFile(cfgPath)
	os.WriteFile(cfgPath, []byte(strings.Replace(string(data), `"BertModel"`, `"BertForSequenceClassification"`, 1)), 0o644)
	unsupported := t.TempDir()
	os.WriteFile(filepath.Join(unsupported, "config.json"), []byte(`{"architectures": ["DebertaV2Model"]}`), 0o644)

	cases := []struct {
		name, input, outType, inMessage string
	}{
		{"no config", t.TempDir(), "f16", "config.json"},
		{"unsupported architecture", unsupported, "f16", "DebertaV2Model is not supported; supported: BertForMaskedLM, BertForSequenceClassification, BertModel"},
		{"unknown outtype", good, "q3_x", "q4_k_m"},
		{"quantized without a quantizer", good, "q8_0", "quantizer"},
		{"classifier without its head", noHead, "f32", "classifier"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "m.gguf")
			err := Convert(context.Background(), Options{Input: c.input, Output: out, OutType: c.outType})
			if err == nil || !strings.Contains(err.Error(), c.inMessage) {
				t.Fatalf("got %v, want an error mentioning %q", err, c.inMessage)
			}
			if _, statErr := os.Stat(out); statErr == nil {
				t.Error("a failed conversion left its output")
			}
		})
	}
}

func want(t *testing.T, m *gguf.Metadata, key string, value any) {
	t.Helper()
	if got, ok := m.Value(key); !ok || got != value {
		t.Errorf("%s = %v (%T), want %v (%T)", key, got, got, value, value)
	}
}

func tensor(t *testing.T, m *gguf.Metadata, name string, ne []uint64) {
	t.Helper()
	for _, ti := range m.Tensors {
		if ti.Name == name {
			if !slices.Equal(ti.Ne, ne) {
				t.Errorf("%s has shape %v, want %v", name, ti.Ne, ne)
			}
			return
		}
	}
	t.Errorf("no tensor %s", name)
}

func noTensor(t *testing.T, m *gguf.Metadata, name string) {
	t.Helper()
	for _, ti := range m.Tensors {
		if ti.Name == name {
			t.Errorf("unexpected tensor %s", name)
		}
	}
}
