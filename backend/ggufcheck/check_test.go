package ggufcheck

import (
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// tinyModel writes a tiny model as the e2e tests do and reads its header
// back, with the file's size.
func tinyModel(t *testing.T, cfg testmodel.Config, dtype string) (*gguf.Metadata, int64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := testmodel.WriteGGUF(path, testmodel.Generate(cfg), cfg, dtype); err != nil {
		t.Fatal(err)
	}
	m, err := gguf.ReadMetadata(path)
	if err != nil {
		t.Fatal(err)
	}
	size := m.DataOffset
	for _, ti := range m.Tensors {
		n, err := tensorBytes(ti)
		if err != nil {
			t.Fatal(err)
		}
		size = max(size, m.DataOffset+int64(ti.Offset+n))
	}
	return m, size
}

// Every kind of tiny model the tests serve passes: a check that refused a
// good file would make a model unservable.
func TestGoodModelsPass(t *testing.T) {
	ugm := testmodel.Tiny(4, "rank")
	ugm.TypeVocab, ugm.Tokenizer = 1, "ugm"
	labels := testmodel.Tiny(5, "rank")
	labels.Labels = 3
	for name, cfg := range map[string]testmodel.Config{
		"cls": testmodel.Tiny(1, "cls"), "mean": testmodel.Tiny(2, "mean"), "rank": testmodel.Tiny(3, "rank"),
		"ugm": ugm, "labels": labels,
	} {
		for _, dtype := range []string{"f32", "f16"} {
			m, size := tinyModel(t, cfg, dtype)
			if err := Check(m, size); err != nil {
				t.Errorf("%s %s: %v", name, dtype, err)
			}
			// llama-quantize writes a one-output head without its
			// trailing dimension of 1.
			if name == "rank" {
				for i := range m.Tensors {
					if ne := m.Tensors[i].Ne; m.Tensors[i].Name == "cls.output.weight" && len(ne) == 2 && ne[1] == 1 {
						m.Tensors[i].Ne = ne[:1]
					}
				}
				if err := Check(m, size); err != nil {
					t.Errorf("%s %s with the head written as llama-quantize writes it: %v", name, dtype, err)
				}
			}
		}
	}
}

func setKV(m *gguf.Metadata, key string, v any) {
	for i := range m.KVs {
		if m.KVs[i].Key == key {
			m.KVs[i].Value = v
			return
		}
	}
	m.KVs = append(m.KVs, gguf.KV{Key: key, Value: v})
}

func deleteKV(m *gguf.Metadata, key string) {
	m.KVs = slices.DeleteFunc(m.KVs, func(kv gguf.KV) bool { return kv.Key == key })
}

func tensor(m *gguf.Metadata, name string) *gguf.TensorInfo {
	for i := range m.Tensors {
		if m.Tensors[i].Name == name {
			return &m.Tensors[i]
		}
	}
	panic("no tensor " + name)
}

// Each corruption is refused with its cause named. Several are ones the
// vendored llama.cpp asserts on (marked), the rest ones it would refuse
// too but that the message here explains better.
func TestCorruptionsAreRefused(t *testing.T) {
	cases := []struct {
		name    string
		mutate  func(m *gguf.Metadata, size *int64)
		wantErr string
	}{
		{"truncated in the data", func(m *gguf.Metadata, size *int64) { *size -= 100 }, "run past the end"},
		{"truncated before the data", func(m *gguf.Metadata, size *int64) { *size = m.DataOffset - 1 }, "truncated"},
		{"tensor offset moved", func(m *gguf.Metadata, _ *int64) { m.Tensors[3].Offset += 32 }, "want"},
		{"tensor offset unaligned", func(m *gguf.Metadata, _ *int64) { m.Tensors[0].Offset = 3 }, "want 0"},
		{"unknown type", func(m *gguf.Metadata, _ *int64) { m.Tensors[2].Type = 77 }, "unknown or retired ggml type 77"},
		{"retired type", func(m *gguf.Metadata, _ *int64) { m.Tensors[2].Type = 31 }, "retired"},
		{"quantized rows not whole blocks", func(m *gguf.Metadata, _ *int64) { m.Tensors[0].Type = 12 }, "whole q4_K blocks"},
		{"empty dimension", func(m *gguf.Metadata, _ *int64) { tensor(m, "blk.0.attn_q.bias").Ne[0] = 0 }, "empty"},
		{"huge shape", func(m *gguf.Metadata, _ *int64) { tensor(m, "blk.0.attn_q.bias").Ne = []uint64{1 << 40, 1 << 40} }, "overflows"},
		{"duplicate tensor", func(m *gguf.Metadata, _ *int64) { tensor(m, "blk.0.attn_q.bias").Name = "blk.0.attn_k.bias" }, "appears twice"},
		{"duplicate key", func(m *gguf.Metadata, _ *int64) { m.KVs = append(m.KVs, m.KVs[1]) }, "appears twice"},
		{"no architecture", func(m *gguf.Metadata, _ *int64) { deleteKV(m, "general.architecture") }, "general.architecture is missing"},
		{"n_embd changed", func(m *gguf.Metadata, _ *int64) { setKV(m, "bert.embedding_length", uint32(48)) }, "token_embd.weight"},
		{"n_embd of the wrong type", func(m *gguf.Metadata, _ *int64) { setKV(m, "bert.embedding_length", int32(32)) }, "reads it as uint32"},
		{"layers beyond llama.cpp's", func(m *gguf.Metadata, _ *int64) { setKV(m, "bert.block_count", uint32(100000)) }, "layers"},
		{"fewer layers than tensors", func(m *gguf.Metadata, _ *int64) { setKV(m, "bert.block_count", uint32(1)) }, "layer 1 of a 1-layer"},
		{"heads not dividing n_embd", func(m *gguf.Metadata, _ *int64) { setKV(m, "bert.attention.head_count", uint32(5)) }, "does not divide"},
		{"zero heads", func(m *gguf.Metadata, _ *int64) { setKV(m, "bert.attention.head_count", uint32(0)) }, "is 0"},
		{"head array of the wrong length", func(m *gguf.Metadata, _ *int64) { setKV(m, "bert.attention.head_count", []uint32{2}) }, "entries for 2 layers"},
		// GGML_ASSERT(n_expert_used <= n_expert) in load_hparams.
		{"experts (asserts)", func(m *gguf.Metadata, _ *int64) { setKV(m, "bert.expert_used_count", uint32(2)) }, "expert counts"},
		// GGML_ASSERT(rope_scaling_type_train != UNSPECIFIED).
		{"rope scaling (asserts)", func(m *gguf.Metadata, _ *int64) { setKV(m, "bert.rope.scaling.type", "bogus") }, "rope.scaling.type"},
		{"vocab shortened", func(m *gguf.Metadata, _ *int64) {
			v, _ := m.Value("tokenizer.ggml.tokens")
			setKV(m, "tokenizer.ggml.tokens", v.([]string)[:20])
		}, "entries for 20 tokens"},
		// GGML_ASSERT(id_to_token.size() == token_to_id.size()).
		{"duplicate token (asserts)", func(m *gguf.Metadata, _ *int64) {
			v, _ := m.Value("tokenizer.ggml.tokens")
			v.([]string)[7] = v.([]string)[8]
		}, "repeats"},
		// Read past its end by index.
		{"token types shortened (reads out of bounds)", func(m *gguf.Metadata, _ *int64) {
			v, _ := m.Value("tokenizer.ggml.token_type")
			setKV(m, "tokenizer.ggml.token_type", v.([]int32)[:3])
		}, "3 entries"},
		// gguf_get_arr_data asserts the array is not of strings.
		{"token types as strings (asserts)", func(m *gguf.Metadata, _ *int64) {
			setKV(m, "tokenizer.ggml.token_type", []string{"a"})
		}, "want a list of int32"},
		{"special id outside the vocabulary", func(m *gguf.Metadata, _ *int64) {
			setKV(m, "tokenizer.ggml.seperator_token_id", uint32(1<<20))
		}, "outside the"},
		{"WordPiece default outside the vocabulary", func(m *gguf.Metadata, _ *int64) {
			deleteKV(m, "tokenizer.ggml.bos_token_id")
			for _, key := range []string{"tokenizer.ggml.tokens", "tokenizer.ggml.token_type"} {
				v, _ := m.Value(key)
				setKV(m, key, reflect.ValueOf(v).Slice(0, 101).Interface())
			}
		}, "default"},
		// unordered_map::at throws on the first byte SentencePiece BPE
		// falls back to; the exception terminates the process.
		{"SentencePiece vocabulary without byte tokens (terminates)", func(m *gguf.Metadata, _ *int64) {
			setKV(m, "tokenizer.ggml.model", "llama")
		}, "no token for byte 0x00"},
		// token_to_byte's GGML_ABORT for a WordPiece vocabulary.
		{"byte token in WordPiece (asserts)", func(m *gguf.Metadata, _ *int64) {
			v, _ := m.Value("tokenizer.ggml.token_type")
			v.([]int32)[9] = 6
		}, "byte token"},
		{"token_embd rows", func(m *gguf.Metadata, _ *int64) { tensor(m, "token_embd.weight").Ne[1]-- }, "token_embd.weight"},
		{"shape swapped", func(m *gguf.Metadata, _ *int64) {
			ne := tensor(m, "blk.0.attn_output.weight").Ne
			ne[0], ne[1] = ne[1], ne[0]+1
		}, "attn_output"},
		{"classifier outputs, trailing 1 left out", func(m *gguf.Metadata, _ *int64) {
			tensor(m, "cls.output.weight").Ne = []uint64{64}
			setKV(m, "bert.classifier.output_labels", []string{"a", "b"})
		}, "cls.output.weight"},
		{"classifier outputs", func(m *gguf.Metadata, _ *int64) { setKV(m, "bert.classifier.output_labels", []string{"a", "b"}) }, "cls.output.weight"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, size := tinyModel(t, testmodel.Tiny(3, "rank"), "f32")
			c.mutate(m, &size)
			err := Check(m, size)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("got %v, want ErrInvalid naming %q", err, c.wantErr)
			}
		})
	}
}
