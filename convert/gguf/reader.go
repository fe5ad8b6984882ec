package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
)

// TensorInfo describes one tensor of a GGUF file.
type TensorInfo struct {
	Name   string
	Ne     []uint64 // GGML order: innermost dimension first
	Type   TensorType
	Offset uint64 // from Metadata.DataOffset
}

// Metadata is what ReadMetadata finds in a GGUF file's header.
type Metadata struct {
	Version    uint32
	KVs        []KV // in file order; values use the Go types AddKV accepts
	Tensors    []TensorInfo
	Alignment  uint64
	DataOffset int64 // file offset of the first tensor's data
}

// Value returns the value of key, or false when the file has no such key.
func (m *Metadata) Value(key string) (any, bool) {
	for _, kv := range m.KVs {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return nil, false
}

// ReadMetadata reads the header, metadata and tensor descriptions of a GGUF
// file (any version from 2 on), but not the tensor data.
func ReadMetadata(path string) (*Metadata, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	d := &decoder{r: bufio.NewReader(f), size: st.Size()}
	m, err := d.metadata()
	if err != nil {
		return nil, fmt.Errorf("gguf: %s: %w", path, err)
	}
	return m, nil
}

type decoder struct {
	r    *bufio.Reader
	pos  int64
	size int64 // file size: bounds every length read, so a corrupt file cannot make us allocate gigabytes
	err  error
}

func (d *decoder) metadata() (*Metadata, error) {
	head := d.bytes(4)
	if d.err == nil && string(head) != magic {
		return nil, fmt.Errorf("not a GGUF file (magic %q)", head)
	}
	m := &Metadata{Version: d.u32(), Alignment: Alignment}
	if d.err == nil && m.Version < 2 {
		return nil, fmt.Errorf("unsupported GGUF version %d", m.Version)
	}
	// A KV takes at least a key length and a type, a tensor a name length,
	// a dimension count, a type and an offset.
	nTensors, nKV := d.count(8+4+8+4), d.count(8+4)
	for i := uint64(0); i < nKV && d.err == nil; i++ {
		key := d.str()
		m.KVs = append(m.KVs, KV{key, d.value(ValueType(d.u32()))})
	}
	for i := uint64(0); i < nTensors && d.err == nil; i++ {
		t := TensorInfo{Name: d.str()}
		dims := d.u32()
		if dims > maxDims {
			return nil, fmt.Errorf("tensor %q has %d dimensions", t.Name, dims)
		}
		for range dims {
			t.Ne = append(t.Ne, d.u64())
		}
		t.Type = TensorType(d.u32())
		t.Offset = d.u64()
		m.Tensors = append(m.Tensors, t)
	}
	if d.err != nil {
		return nil, d.err
	}
	if v, ok := m.Value(alignmentKey); ok {
		a, isU32 := v.(uint32)
		if !isU32 || a == 0 || a&(a-1) != 0 {
			return nil, fmt.Errorf("%s = %v is not a uint32 power of two", alignmentKey, v)
		}
		m.Alignment = uint64(a)
	}
	m.DataOffset = int64((uint64(d.pos) + m.Alignment - 1) / m.Alignment * m.Alignment)
	return m, nil
}

func (d *decoder) bytes(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(d.size-d.pos) {
		d.fail("length %d runs past the end of the file", n)
		return nil
	}
	b := make([]byte, n)
	_, d.err = io.ReadFull(d.r, b)
	d.pos += int64(n)
	return b
}

func (d *decoder) u32() uint32 {
	if b := d.bytes(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if b := d.bytes(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// count reads an element count. Each element takes at least minBytes of
// what is left of the file, so a larger count is corruption; it returns 0
// then, so that no caller allocates for it.
func (d *decoder) count(minBytes uint64) uint64 {
	n := d.u64()
	if d.err == nil && n > uint64(d.size-d.pos)/minBytes {
		d.fail("count %d exceeds what the rest of the file can hold", n)
	}
	if d.err != nil {
		return 0
	}
	return n
}

func (d *decoder) str() string { return string(d.bytes(d.u64())) }

func (d *decoder) value(t ValueType) any {
	if t == TypeArray {
		elem := ValueType(d.u32())
		g, ok := goTypes[elem]
		if !ok {
			d.fail("unsupported array element type %d", elem)
			return nil
		}
		minBytes := uint64(g.Size())
		if elem == TypeString {
			minBytes = 8 // its length
		}
		n := d.count(minBytes)
		out := reflect.MakeSlice(reflect.SliceOf(g), 0, int(n))
		for i := uint64(0); i < n && d.err == nil; i++ {
			out = reflect.Append(out, reflect.ValueOf(d.value(elem)))
		}
		return out.Interface()
	}
	g, ok := goTypes[t]
	if !ok {
		d.fail("unknown value type %d", t)
		return nil
	}
	switch t {
	case TypeString:
		return d.str()
	case TypeBool:
		b := d.bytes(1)
		return b != nil && b[0] != 0
	}
	b := d.bytes(uint64(g.Size()))
	if b == nil {
		return reflect.Zero(g).Interface()
	}
	var bits [8]byte
	copy(bits[:], b)
	u := binary.LittleEndian.Uint64(bits[:])
	switch t {
	case TypeFloat32:
		return math.Float32frombits(uint32(u))
	case TypeFloat64:
		return math.Float64frombits(u)
	}
	// Integer conversion truncates to the type's width, restoring signed
	// values from their two's-complement bits.
	return reflect.ValueOf(u).Convert(g).Interface()
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format+" (offset %d)", append(args, d.pos)...)
	}
}
