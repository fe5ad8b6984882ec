package ggufcheck

import (
	"errors"
	"fmt"
	"math/bits"

	"github.com/rerank-api/rerank-api/convert/gguf"
)

// ErrInvalid is wrapped by every error Check returns, so callers and tests
// can tell a file refused here from one llama.cpp refused itself.
var ErrInvalid = errors.New("invalid GGUF")

const (
	maxNameBytes = 63  // GGML_MAX_NAME is 64 with the terminating NUL
	maxDims      = 4   // GGML_MAX_DIMS
	maxLayers    = 512 // LLAMA_MAX_LAYERS: llama.cpp's per-layer arrays
	maxExperts   = 512 // LLAMA_MAX_EXPERTS
)

// Check validates m, read from a file of fileSize bytes, against what the
// vendored llama.cpp needs to load it without asserting: the tensor table
// (known types, sizes matching shapes, data inside the file and aligned),
// the hyperparameters llama.cpp asserts on, the vocabulary, and the shapes
// of the tensors whose size follows from those keys.
func Check(m *gguf.Metadata, fileSize int64) error {
	if err := checkKeys(m); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	arch, err := readArch(m)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	// Shapes before offsets: a wrong shape also moves every later offset,
	// and the shape is the better explanation.
	if err := arch.check(m); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := checkTensors(m, fileSize); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// checkKeys refuses a repeated key: llama.cpp's reader does too, but the
// first copy is what ReadMetadata's Value and everything here would see.
func checkKeys(m *gguf.Metadata) error {
	seen := make(map[string]bool, len(m.KVs))
	for _, kv := range m.KVs {
		if seen[kv.Key] {
			return fmt.Errorf("key %q appears twice", kv.Key)
		}
		seen[kv.Key] = true
	}
	return nil
}

// checkTensors checks the tensor table as gguf.cpp reads it: each tensor's
// data follows the previous one's at the next aligned offset, and the last
// ends inside the file. It also refuses what gguf.cpp lets through but
// later code trips on: empty dimensions and unnamed tensors.
func checkTensors(m *gguf.Metadata, fileSize int64) error {
	if m.DataOffset > fileSize {
		return fmt.Errorf("the tensor data would start at byte %d of a %d-byte file (truncated?)", m.DataOffset, fileSize)
	}
	names := make(map[string]bool, len(m.Tensors))
	var next uint64 // where the next tensor's data must start, from DataOffset
	for _, t := range m.Tensors {
		if t.Name == "" || len(t.Name) > maxNameBytes {
			return fmt.Errorf("tensor name %q is empty or longer than %d bytes", clip(t.Name), maxNameBytes)
		}
		if names[t.Name] {
			return fmt.Errorf("tensor %q appears twice", t.Name)
		}
		names[t.Name] = true
		size, err := tensorBytes(t)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		if t.Offset != next {
			return fmt.Errorf("tensor %q: data at offset %d, want %d (the previous tensor's end, aligned to %d)", t.Name, t.Offset, next, m.Alignment)
		}
		end, carry := bits.Add64(t.Offset, size, 0)
		if carry != 0 || end > uint64(fileSize-m.DataOffset) {
			return fmt.Errorf("tensor %q: its %d bytes at data offset %d run past the end of the %d-byte file (truncated?)", t.Name, size, t.Offset, fileSize)
		}
		next = (end + m.Alignment - 1) / m.Alignment * m.Alignment
	}
	return nil
}

// tensorBytes is a tensor's data size from its type and shape, as
// ggml_nbytes computes it for a contiguous tensor.
func tensorBytes(t gguf.TensorInfo) (uint64, error) {
	typ, ok := ggmlTypes[t.Type]
	if !ok {
		return 0, fmt.Errorf("unknown or retired ggml type %d", uint32(t.Type))
	}
	if len(t.Ne) == 0 || len(t.Ne) > maxDims {
		return 0, fmt.Errorf("%d dimensions, want 1 to %d", len(t.Ne), maxDims)
	}
	for _, n := range t.Ne {
		if n == 0 || n > 1<<62 {
			return 0, fmt.Errorf("shape %v has an empty or huge dimension", t.Ne)
		}
	}
	if t.Ne[0]%typ.blockSize != 0 {
		return 0, fmt.Errorf("rows of %d elements are not whole %s blocks of %d", t.Ne[0], typ.name, typ.blockSize)
	}
	size := t.Ne[0] / typ.blockSize * typ.blockBytes
	for _, n := range t.Ne[1:] {
		hi, lo := bits.Mul64(size, n)
		if hi != 0 || lo > 1<<62 {
			return 0, fmt.Errorf("shape %v overflows", t.Ne)
		}
		size = lo
	}
	return size, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
