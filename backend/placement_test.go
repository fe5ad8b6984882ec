package backend

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rerank-api/rerank-api/convert/gguf"
)

// TestBookModel places a three-layer cross-encoder's tensors as llama.cpp
// does: the token embeddings on the CPU, the offloaded layers and the head
// on the GPUs, the context buffers on every device that runs a layer.
func TestBookModel(t *testing.T) {
	w := gguf.NewWriter()
	w.AddKV("general.architecture", "bert")
	w.AddKV("bert.block_count", uint32(3))
	w.AddTensor("token_embd.weight", []uint64{32}, gguf.TensorF32, make([]float32, 32)) // 128 bytes
	for _, name := range []string{"blk.0.attn_q.weight", "blk.1.attn_q.weight", "blk.2.attn_q.weight", "cls.output.weight"} {
		w.AddTensor(name, []uint64{16}, gguf.TensorF32, make([]float32, 16)) // 64 bytes each
	}
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	meta, err := gguf.ReadMetadata(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	file, header := uint64(fi.Size()), uint64(meta.DataOffset)
	if file != header+128+4*64 {
		t.Fatalf("file %d bytes, header %d: the tensors are not 128 + 4 × 64 bytes", file, header)
	}
	const ctx = 1000
	one := []DeviceBudget{{Name: "CUDA0", BudgetBytes: 8 << 30}}
	two := []DeviceBudget{{Name: "CUDA0", BudgetBytes: 8 << 30}, {Name: "CUDA1", BudgetBytes: 8 << 30}}
	for _, tc := range []struct {
		name      string
		gpuLayers int
		devices   []DeviceBudget
		want      Booking
	}{
		{"no GPU", -1, nil, Booking{HostMemory: file + ctx}},
		{"no layers offloaded", 0, one, Booking{HostMemory: file + ctx}},
		{"all offloaded", -1, one, Booking{HostMemory: header + 128, "CUDA0": 4*64 + ctx}},
		// The last layer goes first; the head only with every layer.
		{"one layer offloaded", 1, one, Booking{HostMemory: header + 128 + 3*64 + ctx, "CUDA0": 64 + ctx}},
		// Four layers (the head counts as one) split evenly: 0 and 1, then 2 and the head.
		{"two GPUs", -1, two, Booking{HostMemory: header + 128, "CUDA0": 2*64 + ctx, "CUDA1": 2*64 + ctx}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := bookModel(meta, file, ctx, Config{GPULayers: tc.gpuLayers, Devices: tc.devices})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("booked %v, want %v", got, tc.want)
			}
		})
	}
}
