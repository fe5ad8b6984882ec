package backend

import (
	"bytes"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
)

// headerSeed is the header of a converted two-layer BERT embedder: the
// keys planContexts, withModelDefaults and bookModel read, and a tensor of
// each placement class (input, repeating layer, output).
func headerSeed(f *testing.F, arch string, extra map[string]any) []byte {
	kv := map[string]any{"general.architecture": arch, arch + ".context_length": uint32(512),
		arch + ".attention.head_count": uint32(12), arch + ".block_count": uint32(2), arch + ".embedding_length": uint32(8)}
	maps.Copy(kv, extra)
	w := gguf.NewWriter()
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		w.AddKV(k, kv[k])
	}
	for _, name := range []string{"token_embd.weight", "blk.0.attn_q.weight", "blk.1.ffn_up.weight", "output_norm.weight"} {
		w.AddTensor(name, []uint64{8, 2}, gguf.TensorF32, make([]float32, 16))
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		f.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzModelDefaults feeds a GGUF header to what the engine derives from it
// before and after loading: the catalog defaults the converter recorded
// (withModelDefaults), the shape of the inference contexts (planContexts)
// and the memory booked for them and the weights on each device
// (bookModel). A header may be refused; one that is accepted must give a
// plan within the model's trained positions whose memory does not wrap
// around, and a booking without panicking.
func FuzzModelDefaults(f *testing.F) {
	f.Add(headerSeed(f, "bert", nil), uint16(0), uint16(512), false, int8(0))
	f.Add(headerSeed(f, "bert", map[string]any{keys.Normalize: true, keys.MaxLength: uint32(256),
		keys.QueryPrefix: "query: ", keys.DocumentPrefix: "passage: "}), uint16(128), uint16(2048), true, int8(-1))
	f.Add(headerSeed(f, "xlm-roberta", map[string]any{keys.MaxLength: "8192"}), uint16(9000), uint16(64), false, int8(1))
	// Positions and heads whose score buffers no uint64 counts.
	f.Add(headerSeed(f, "bert", map[string]any{"bert.context_length": uint32(math.MaxUint32), "bert.attention.head_count": uint32(1 << 20)}),
		uint16(0), uint16(512), false, int8(0))
	path := filepath.Join(f.TempDir(), "model.gguf")
	f.Fuzz(func(t *testing.T, header []byte, maxLength uint16, batchTokens uint16, flash bool, gpuLayers int8) {
		if err := os.WriteFile(path, header, 0o644); err != nil {
			t.Fatal(err)
		}
		meta, err := gguf.ReadMetadata(path)
		if err != nil {
			return
		}
		entry := catalog.Entry{Name: "m", Kind: catalog.KindEmbedding, MaxLength: int(maxLength)}
		cfg := Config{BatchTokens: max(int(batchTokens), 1), FlashAttention: flash, GPULayers: int(gpuLayers), Workers: 2,
			Devices: []DeviceBudget{{Name: "gpu0", BudgetBytes: 1 << 30}, {Name: "gpu1"}}}
		if e := withModelDefaults(entry, ggufHeader{meta}); e.MaxLength < 0 {
			t.Fatalf("max_length %d from the GGUF's %q", e.MaxLength, ggufHeader{meta}.Meta(keys.MaxLength))
		}
		plan, err := planContexts(entry, ggufHeader{meta}, cfg)
		if err != nil {
			return
		}
		if plan.maxTokens < 1 || plan.capacity < plan.maxTokens || plan.capacity < cfg.BatchTokens {
			t.Fatalf("plan %+v for batch %d", plan, cfg.BatchTokens)
		}
		contexts := plan.bufferBytes(cfg.Workers)
		if contexts < uint64(plan.capacity) || plan.bufferBytes(1) == math.MaxUint64 {
			t.Fatalf("plan %+v books %d bytes of contexts: the product wrapped around or cannot be counted", plan, contexts)
		}
		if want := exactBufferBytes(plan, cfg.Workers); plan.encoder == nil && contexts != want {
			t.Fatalf("plan %+v books %d bytes of contexts, want %d", plan, contexts, want)
		}
		bookModel(meta, uint64(len(header)), contexts, cfg)
	})
}
