package gguf

import (
	"fmt"
	"reflect"
	"strings"
)

// ValueType is a metadata value's type code in the file (gguf.h enum
// gguf_type).
type ValueType uint32

// The GGUF value types. Each maps to one Go type in AddKV and ReadMetadata.
const (
	TypeUint8   ValueType = 0  // uint8
	TypeInt8    ValueType = 1  // int8
	TypeUint16  ValueType = 2  // uint16
	TypeInt16   ValueType = 3  // int16
	TypeUint32  ValueType = 4  // uint32
	TypeInt32   ValueType = 5  // int32
	TypeFloat32 ValueType = 6  // float32
	TypeBool    ValueType = 7  // bool
	TypeString  ValueType = 8  // string
	TypeArray   ValueType = 9  // a slice of any type above except arrays
	TypeUint64  ValueType = 10 // uint64
	TypeInt64   ValueType = 11 // int64
	TypeFloat64 ValueType = 12 // float64
)

// goTypes maps each scalar GGUF type to the Go type that stands for it in
// AddKV and ReadMetadata; a GGUF array is a slice of one of them.
var goTypes = map[ValueType]reflect.Type{
	TypeUint8:   reflect.TypeFor[uint8](),
	TypeInt8:    reflect.TypeFor[int8](),
	TypeUint16:  reflect.TypeFor[uint16](),
	TypeInt16:   reflect.TypeFor[int16](),
	TypeUint32:  reflect.TypeFor[uint32](),
	TypeInt32:   reflect.TypeFor[int32](),
	TypeFloat32: reflect.TypeFor[float32](),
	TypeBool:    reflect.TypeFor[bool](),
	TypeString:  reflect.TypeFor[string](),
	TypeUint64:  reflect.TypeFor[uint64](),
	TypeInt64:   reflect.TypeFor[int64](),
	TypeFloat64: reflect.TypeFor[float64](),
}

// kindTypes is goTypes inverted by kind, so named types (type X uint32) are
// accepted too.
var kindTypes = func() map[reflect.Kind]ValueType {
	m := map[reflect.Kind]ValueType{}
	for t, g := range goTypes {
		m[g.Kind()] = t
	}
	return m
}()

// valueType names the GGUF type of a Go value accepted by AddKV, and for
// slices the element type. llama.cpp checks types strictly (a uint32 key
// written as int32 fails to load), so plain int and float are refused rather
// than guessed.
func valueType(v any) (t, elem ValueType, err error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice {
		if elem, ok := kindTypes[rv.Type().Elem().Kind()]; ok {
			return TypeArray, elem, nil
		}
	} else if t, ok := kindTypes[rv.Kind()]; ok {
		return t, 0, nil
	}
	return 0, 0, fmt.Errorf("unsupported metadata value type %T (use a sized type such as uint32, int32, float32, or a slice of one)", v)
}

// TensorType is a tensor's storage type (ggml.h enum ggml_type). Only the
// unquantized types are listed; quantizing is llama-quantize's job.
type TensorType uint32

// Unquantized ggml tensor types.
const (
	TensorF32  TensorType = 0
	TensorF16  TensorType = 1
	TensorBF16 TensorType = 30
)

func (t TensorType) String() string {
	switch t {
	case TensorF32:
		return "f32"
	case TensorF16:
		return "f16"
	case TensorBF16:
		return "bf16"
	}
	return fmt.Sprintf("ggml type %d", uint32(t))
}

// elementSize is the bytes per element, 0 for types this package cannot size.
func (t TensorType) elementSize() int {
	switch t {
	case TensorF32:
		return 4
	case TensorF16, TensorBF16:
		return 2
	}
	return 0
}

// FileType is a model's general.file_type, llama.h's enum llama_ftype: the
// type most of its matrices are stored as. The constants carry llama.h's
// numbers (backend/llama hands them to llama.cpp's quantizer as they are).
type FileType uint32

// The file types rerank-api writes.
const (
	FileF32    FileType = 0
	FileF16    FileType = 1
	FileQ4_0   FileType = 2
	FileQ8_0   FileType = 7
	FileQ5_0   FileType = 8
	FileQ4_K_M FileType = 15
	FileQ5_K_M FileType = 17
	FileQ6_K   FileType = 18
	FileBF16   FileType = 32
)

// fileTypes is the one list of output types: what `convert --outtype`,
// `quantize` and a catalog recipe's outtype accept, named as llama-quantize
// names them, in the order they are listed to users.
var fileTypes = []struct {
	name string
	t    FileType
}{
	{"f32", FileF32}, {"f16", FileF16}, {"bf16", FileBF16},
	{"q8_0", FileQ8_0}, {"q6_k", FileQ6_K}, {"q5_k_m", FileQ5_K_M}, {"q5_0", FileQ5_0},
	{"q4_k_m", FileQ4_K_M}, {"q4_0", FileQ4_0},
}

// FileTypeNames lists the output types by name, floats first.
func FileTypeNames() []string {
	names := make([]string, len(fileTypes))
	for i, ft := range fileTypes {
		names[i] = ft.name
	}
	return names
}

// ParseFileType reads an output type's name, in any case.
func ParseFileType(name string) (FileType, error) {
	for _, ft := range fileTypes {
		if strings.EqualFold(ft.name, name) {
			return ft.t, nil
		}
	}
	return 0, fmt.Errorf("unknown output type %q: want one of %s", name, strings.Join(FileTypeNames(), ", "))
}

func (t FileType) String() string {
	for _, ft := range fileTypes {
		if ft.t == t {
			return ft.name
		}
	}
	return fmt.Sprintf("llama_ftype %d", uint32(t))
}

// TensorType is the tensor type a float file type stores its matrices as;
// ok is false for quantized types, which only llama.cpp's quantizer makes.
func (t FileType) TensorType() (typ TensorType, ok bool) {
	switch t {
	case FileF32:
		return TensorF32, true
	case FileF16:
		return TensorF16, true
	case FileBF16:
		return TensorBF16, true
	}
	return 0, false
}
