package tests

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand"
	"reflect"
	"slices"

	"github.com/rerank-api/rerank-api/convert/gguf"
)

// mutant is a corrupted copy of a model file.
type mutant struct {
	name string
	data []byte
}

// mutateGGUF derives corrupt files from a good GGUF: truncations at many
// offsets, flipped bytes in the header and metadata, and structural edits
// re-encoded into a well-formed container (shapes swapped, offsets moved,
// types changed, vocabulary arrays shortened, hyperparameters changed, keys
// removed or retyped), so a check must look past the container's syntax.
func mutateGGUF(base string, raw []byte, meta *gguf.Metadata, seed int64) []mutant {
	rng := rand.New(rand.NewSource(seed))
	var out []mutant
	add := func(name string, data []byte) { out = append(out, mutant{base + "-" + name, data}) }

	header := int(meta.DataOffset)
	cuts := []int{0, 3, 4, 7, 8, 15, 16, 23, 24, len(raw) - 1, len(raw) - 4}
	for i := range 12 {
		cuts = append(cuts, 24+(header-24)*i/12+rng.Intn(8))
	}
	for i := range 8 {
		cuts = append(cuts, header+(len(raw)-header)*i/8+rng.Intn(4))
	}
	for _, n := range cuts {
		add(fmt.Sprintf("cut%d", n), slices.Clone(raw[:n]))
	}
	for i := range 30 {
		data := slices.Clone(raw)
		at := rng.Intn(header)
		if i%2 == 0 {
			data[at] ^= 1 << rng.Intn(8)
		} else {
			data[at] = byte(rng.Intn(256))
		}
		add(fmt.Sprintf("flip%d", at), data)
	}

	arch, _ := meta.Value("general.architecture")
	key := func(s string) string { return fmt.Sprint(arch) + "." + s }
	body := raw[header:]
	edit := func(name string, f func(m *gguf.Metadata)) {
		m := cloneMeta(meta)
		f(m)
		add(name, encodeGGUF(m, body))
	}
	tensorNamed := func(m *gguf.Metadata, name string) *gguf.TensorInfo {
		for i := range m.Tensors {
			if m.Tensors[i].Name == name {
				return &m.Tensors[i]
			}
		}
		return &m.Tensors[0]
	}
	for _, name := range []string{"token_embd.weight", "blk.0.ffn_up.weight", "blk.1.ffn_down.weight", "cls.output.weight", "token_types.weight", "position_embd.weight"} {
		edit("swap-"+name, func(m *gguf.Metadata) {
			ne := tensorNamed(m, name).Ne
			ne[0], ne[1] = ne[1], ne[0]
		})
	}
	last := len(meta.Tensors) - 1
	for _, move := range []struct {
		name   string
		tensor int
		offset func(uint64) uint64
	}{
		{"offset-plus32", 3, func(o uint64) uint64 { return o + 32 }},
		{"offset-minus32", last, func(o uint64) uint64 { return o - 32 }},
		{"offset-unaligned", 0, func(o uint64) uint64 { return o + 1 }},
		{"offset-huge", last, func(uint64) uint64 { return math.MaxUint64 - 16 }},
		{"offset-past-end", last, func(o uint64) uint64 { return o + uint64(len(body)) }},
	} {
		edit(move.name, func(m *gguf.Metadata) { m.Tensors[move.tensor].Offset = move.offset(m.Tensors[move.tensor].Offset) })
	}
	for _, typ := range []gguf.TensorType{1, 8, 12, 31, 77, 1 << 31} {
		edit(fmt.Sprintf("type%d-first", typ), func(m *gguf.Metadata) { m.Tensors[0].Type = typ })
		edit(fmt.Sprintf("type%d-embd", typ), func(m *gguf.Metadata) { tensorNamed(m, "token_embd.weight").Type = typ })
	}
	edit("dims0", func(m *gguf.Metadata) { m.Tensors[1].Ne[0] = 0 })
	edit("dims-huge", func(m *gguf.Metadata) { m.Tensors[1].Ne = []uint64{1 << 33, 1 << 33, 1 << 33} })
	edit("tensor-dropped", func(m *gguf.Metadata) { m.Tensors = slices.Delete(m.Tensors, 5, 6) })
	edit("tensor-renamed", func(m *gguf.Metadata) { m.Tensors[0].Name = "blk.99.attn_q.weight" })
	edit("tensor-duplicate", func(m *gguf.Metadata) { m.Tensors[2].Name = m.Tensors[1].Name })

	shorten := func(k string, n func(int) int) func(m *gguf.Metadata) {
		return func(m *gguf.Metadata) {
			for i := range m.KVs {
				if m.KVs[i].Key == k {
					switch v := m.KVs[i].Value.(type) {
					case []string:
						m.KVs[i].Value = v[:n(len(v))]
					case []float32:
						m.KVs[i].Value = v[:n(len(v))]
					case []int32:
						m.KVs[i].Value = v[:n(len(v))]
					}
				}
			}
		}
	}
	for _, k := range []string{"tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.scores"} {
		edit("short1-"+k, shorten(k, func(n int) int { return n - 1 }))
		edit("half-"+k, shorten(k, func(n int) int { return n / 2 }))
	}
	set := func(name, k string, v any) { edit(name, func(m *gguf.Metadata) { setValue(m, k, v) }) }
	embd, _ := meta.Value(key("embedding_length"))
	set("n_embd-plus1", key("embedding_length"), embd.(uint32)+1)
	set("n_embd-double", key("embedding_length"), embd.(uint32)*2)
	set("n_embd-int32", key("embedding_length"), int32(embd.(uint32)))
	for _, n := range []uint32{0, 1, 3, 100000} {
		set(fmt.Sprintf("layers%d", n), key("block_count"), n)
	}
	for _, n := range []uint32{0, 3, 5, 1 << 20} {
		set(fmt.Sprintf("heads%d", n), key("attention.head_count"), n)
	}
	set("kv-heads3", key("attention.head_count_kv"), uint32(3))
	set("ctx0", key("context_length"), uint32(0))
	set("ff0", key("feed_forward_length"), uint32(0))
	set("labels2", key("classifier.output_labels"), []string{"a", "b"})
	set("labels-none", key("classifier.output_labels"), []string{})
	set("experts4", key("expert_count"), uint32(4))
	set("experts-used", key("expert_used_count"), uint32(1))
	set("rope-bogus", key("rope.scaling.type"), "bogus")
	set("arch-llama", "general.architecture", "llama")
	set("arch-unknown", "general.architecture", "no-such-arch")
	set("tokenizer-gpt2", "tokenizer.ggml.model", "gpt2")
	set("tokenizer-llama", "tokenizer.ggml.model", "llama")
	set("tokenizer-t5", "tokenizer.ggml.model", "t5")
	set("tokenizer-bogus", "tokenizer.ggml.model", "bogus")
	set("sep-outside", "tokenizer.ggml.seperator_token_id", uint32(1<<30))
	set("bos-outside", "tokenizer.ggml.bos_token_id", uint32(1<<20))
	set("token-types-strings", "tokenizer.ggml.token_type", []string{"x"})
	set("scores-strings", "tokenizer.ggml.scores", []string{"x"})
	set("alignment3", "general.alignment", uint32(3))
	edit("token-duplicate", func(m *gguf.Metadata) {
		v, _ := m.Value("tokenizer.ggml.tokens")
		tokens := slices.Clone(v.([]string))
		tokens[len(tokens)/2] = tokens[len(tokens)/2+1]
		setValue(m, "tokenizer.ggml.tokens", tokens)
	})
	edit("token-type-byte", func(m *gguf.Metadata) {
		v, _ := m.Value("tokenizer.ggml.token_type")
		types := slices.Clone(v.([]int32))
		types[9] = 6 // LLAMA_TOKEN_TYPE_BYTE
		setValue(m, "tokenizer.ggml.token_type", types)
	})
	for _, k := range []string{"general.architecture", "tokenizer.ggml.model", "tokenizer.ggml.tokens", key("embedding_length"), key("block_count"), key("context_length"), "tokenizer.ggml.bos_token_id", "tokenizer.ggml.token_type_count"} {
		edit("missing-"+k, func(m *gguf.Metadata) {
			m.KVs = slices.DeleteFunc(m.KVs, func(kv gguf.KV) bool { return kv.Key == k })
		})
	}
	return out
}

func cloneMeta(m *gguf.Metadata) *gguf.Metadata {
	c := *m
	c.KVs = slices.Clone(m.KVs)
	c.Tensors = slices.Clone(m.Tensors)
	for i := range c.Tensors {
		c.Tensors[i].Ne = slices.Clone(c.Tensors[i].Ne)
	}
	return &c
}

func setValue(m *gguf.Metadata, key string, v any) {
	for i := range m.KVs {
		if m.KVs[i].Key == key {
			m.KVs[i].Value = v
			return
		}
	}
	m.KVs = append(m.KVs, gguf.KV{Key: key, Value: v})
}

// encodeGGUF writes m's header and tensor table as they are (offsets,
// types and shapes unchecked, unlike gguf.Writer) followed by data, the
// original file's tensor data.
func encodeGGUF(m *gguf.Metadata, data []byte) []byte {
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	str := func(s string) { le(uint64(len(s))); b.WriteString(s) }
	b.WriteString("GGUF")
	le(uint32(3))
	le(uint64(len(m.Tensors)))
	le(uint64(len(m.KVs)))
	for _, kv := range m.KVs {
		str(kv.Key)
		writeValue(&b, kv.Value)
	}
	for _, t := range m.Tensors {
		str(t.Name)
		le(uint32(len(t.Ne)))
		for _, n := range t.Ne {
			le(n)
		}
		le(uint32(t.Type))
		le(t.Offset)
	}
	align := 32
	if a, ok := m.Value("general.alignment"); ok && a.(uint32) > 0 {
		align = int(a.(uint32))
	}
	for b.Len()%align != 0 {
		b.WriteByte(0)
	}
	b.Write(data)
	return b.Bytes()
}

// valueCode is GGUF's value type code for a Go type ReadMetadata returns.
func valueCode(v any) uint32 {
	switch v.(type) {
	case uint8:
		return 0
	case int8:
		return 1
	case uint16:
		return 2
	case int16:
		return 3
	case uint32:
		return 4
	case int32:
		return 5
	case float32:
		return 6
	case bool:
		return 7
	case string:
		return 8
	case uint64:
		return 10
	case int64:
		return 11
	case float64:
		return 12
	}
	return 9 // an array
}

func writeValue(b *bytes.Buffer, v any) {
	le := func(v any) { _ = binary.Write(b, binary.LittleEndian, v) }
	code := valueCode(v)
	le(code)
	switch x := v.(type) {
	case string:
		le(uint64(len(x)))
		b.WriteString(x)
	case bool:
		le(x)
	case []string:
		le(uint32(8))
		le(uint64(len(x)))
		for _, s := range x {
			le(uint64(len(s)))
			b.WriteString(s)
		}
	case []float32, []int32, []uint32, []uint8, []int8, []uint16, []int16, []uint64, []int64, []float64, []bool:
		rv := reflect.ValueOf(x)
		le(valueCode(reflect.Zero(rv.Type().Elem()).Interface()))
		le(uint64(rv.Len()))
		le(x)
	default:
		le(x)
	}
}
