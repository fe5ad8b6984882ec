package gguf

import (
	"fmt"
	"reflect"
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
