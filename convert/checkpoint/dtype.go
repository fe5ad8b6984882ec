package checkpoint

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/rerank-api/rerank-api/convert/gguf"
)

// DType is an element type, spelled as safetensors spells it.
type DType string

// The dtypes a converter reads as floats. Checkpoints also hold integer
// buffers (BERT's int64 embeddings.position_ids), which Open reports with
// their own dtype so callers can skip them.
const (
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	I64  DType = "I64"
)

// dtypeSizes lists every safetensors dtype: a checkpoint may contain any of
// them, and Open must know their sizes to validate the file.
var dtypeSizes = map[DType]int{
	"F64": 8, F32: 4, F16: 2, BF16: 2, "F8_E4M3": 1, "F8_E5M2": 1,
	I64: 8, "I32": 4, "I16": 2, "I8": 1,
	"U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1,
}

// Size is the number of bytes of one element; 0 for an unknown dtype.
func (d DType) Size() int { return dtypeSizes[d] }

// IsFloat reports whether Float32 can read tensors of this dtype.
func (d DType) IsFloat() bool { return d == F32 || d == F16 || d == BF16 }

// decodeFloat32 widens little-endian F32, F16 or BF16 data; every value of
// the narrow formats is exactly representable as a float32.
func decodeFloat32(d DType, b []byte) ([]float32, error) {
	switch d {
	case F32:
		out := make([]float32, len(b)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return out, nil
	case F16:
		out := make([]float32, len(b)/2)
		for i := range out {
			out[i] = gguf.Float32FromF16(binary.LittleEndian.Uint16(b[2*i:]))
		}
		return out, nil
	case BF16:
		out := make([]float32, len(b)/2)
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
		return out, nil
	}
	return nil, fmt.Errorf("dtype %s is not a float type (want F32, F16 or BF16)", d)
}

// F32Bytes encodes v as little-endian float32.
func F32Bytes(v []float32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(x))
	}
	return out
}

// F16Bytes rounds v to IEEE half precision (nearest, ties to even, as
// PyTorch's .half() does) and encodes it little-endian.
func F16Bytes(v []float32) []byte {
	out := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(out[2*i:], gguf.F16FromFloat32(x))
	}
	return out
}

// BF16Bytes rounds v to bfloat16 (nearest, ties to even, as PyTorch's
// .bfloat16() does) and encodes it little-endian.
func BF16Bytes(v []float32) []byte {
	out := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(out[2*i:], bf16FromFloat32(x))
	}
	return out
}

func bf16FromFloat32(f float32) uint16 {
	bits := math.Float32bits(f)
	if f != f {
		// Truncating could clear every mantissa bit and turn NaN into Inf.
		return uint16(bits>>16) | 0x40
	}
	// Adding 0x7fff plus the lowest kept bit rounds half to even; a carry
	// into the exponent is the correct result, up to Inf.
	bits += 0x7fff + (bits>>16)&1
	return uint16(bits >> 16)
}
