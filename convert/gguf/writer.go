package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
)

const (
	magic   = "GGUF"
	version = 3
	// Alignment of the data section and of every tensor in it. 32 is GGUF's
	// default; it is also written as general.alignment so readers need not
	// assume it.
	Alignment = 32
	// alignmentKey is reserved: the Writer sets it itself.
	alignmentKey = "general.alignment"
	// maxTensorName mirrors GGML_MAX_NAME (64, including the terminating
	// NUL): gguf.cpp rejects longer names.
	maxTensorName = 63
	maxDims       = 4 // GGML_MAX_DIMS
)

// KV is one metadata pair. Value holds one of the Go types listed in
// ValueType's constants.
type KV struct {
	Key   string
	Value any
}

type tensor struct {
	name   string
	ne     []uint64
	typ    TensorType
	floats []float32                 // converted to typ while writing, or
	raw    []byte                    // already encoded in typ, or
	load   func() ([]float32, error) // called while writing, then converted
}

// Writer assembles a GGUF file. Add metadata and tensors, then call WriteTo
// or WriteFile once. The first invalid addition (an unsupported value type, a
// duplicate key or tensor, a shape that does not match the data) is kept and
// returned by WriteTo, WriteFile and Err, in the manner of bufio.Writer, so
// long lists of additions need no error check each.
type Writer struct {
	kvs     []KV
	tensors []tensor
	keys    map[string]bool
	names   map[string]bool
	err     error
	// Progress, when set, is called after each tensor's data is written:
	// converting a model is long enough that users want to see it move.
	Progress func(done, total int, name string)
}

// NewWriter returns an empty Writer.
func NewWriter() *Writer {
	return &Writer{keys: map[string]bool{}, names: map[string]bool{}}
}

// Err returns the first error recorded by an Add method.
func (w *Writer) Err() error { return w.err }

func (w *Writer) fail(format string, args ...any) {
	if w.err == nil {
		w.err = fmt.Errorf("gguf: "+format, args...)
	}
}

// AddKV adds a metadata pair. value must be a sized Go type (uint32, int32,
// float32, bool, string, uint64, ...) or a slice of one, which becomes a
// GGUF array. Keys keep the order they were added in.
func (w *Writer) AddKV(key string, value any) {
	if _, _, err := valueType(value); err != nil {
		w.fail("key %q: %v", key, err)
		return
	}
	if key == alignmentKey {
		w.fail("key %q is written by the Writer itself", key)
		return
	}
	if key == "" || w.keys[key] {
		w.fail("duplicate or empty key %q (llama.cpp rejects the file)", key)
		return
	}
	w.keys[key] = true
	w.kvs = append(w.kvs, KV{key, value})
}

// AddTensor adds a tensor from float32 values, stored as typ (TensorF32 or
// TensorF16; f16 is rounded to nearest even while writing). ne is the GGML
// shape, innermost dimension first (see the package comment). data is not
// copied: it must stay unchanged until the file is written.
func (w *Writer) AddTensor(name string, ne []uint64, typ TensorType, data []float32) {
	if typ != TensorF32 && typ != TensorF16 {
		w.fail("tensor %q: cannot convert float32 data to %v", name, typ)
		return
	}
	if w.checkTensor(name, ne, len(data)) {
		w.tensors = append(w.tensors, tensor{name: name, ne: slices.Clone(ne), typ: typ, floats: data})
	}
}

// AddTensorFunc adds a tensor whose float32 values are produced by load
// while the file is written, one tensor at a time, so converting a model
// never holds all of its weights in memory. typ may be TensorF32, TensorF16
// or TensorBF16; load must return exactly the elements ne describes.
func (w *Writer) AddTensorFunc(name string, ne []uint64, typ TensorType, load func() ([]float32, error)) {
	if typ != TensorF32 && typ != TensorF16 && typ != TensorBF16 {
		w.fail("tensor %q: cannot convert float32 data to %v", name, typ)
		return
	}
	n := uint64(1)
	for _, d := range ne {
		n *= d
	}
	if w.checkTensor(name, ne, int(n)) {
		w.tensors = append(w.tensors, tensor{name: name, ne: slices.Clone(ne), typ: typ, load: load})
	}
}

// AddRawTensor adds a tensor whose bytes are already encoded as typ
// (little-endian), e.g. f16 or bf16 data copied from a safetensors file.
// raw is not copied.
func (w *Writer) AddRawTensor(name string, ne []uint64, typ TensorType, raw []byte) {
	size := typ.elementSize()
	if size == 0 {
		w.fail("tensor %q: unsupported tensor type %v", name, typ)
		return
	}
	if len(raw)%size != 0 {
		w.fail("tensor %q: %d bytes is not a whole number of %v elements", name, len(raw), typ)
		return
	}
	if w.checkTensor(name, ne, len(raw)/size) {
		w.tensors = append(w.tensors, tensor{name: name, ne: slices.Clone(ne), typ: typ, raw: raw})
	}
}

func (w *Writer) checkTensor(name string, ne []uint64, elements int) bool {
	if name == "" || len(name) > maxTensorName {
		w.fail("tensor name %q must have 1..%d bytes", name, maxTensorName)
		return false
	}
	if w.names[name] {
		w.fail("duplicate tensor %q", name)
		return false
	}
	if len(ne) == 0 || len(ne) > maxDims {
		w.fail("tensor %q: %d dimensions, want 1..%d", name, len(ne), maxDims)
		return false
	}
	count := uint64(1)
	for _, n := range ne {
		count *= n
	}
	if count != uint64(elements) {
		w.fail("tensor %q: shape %v holds %d elements but %d were given", name, ne, count, elements)
		return false
	}
	w.names[name] = true
	return true
}

// fileWriter is what WriteFile writes a file through: the file itself, or
// in tests a writer that fails as a full disk does.
var fileWriter = func(f *os.File) io.Writer { return f }

// WriteFile writes the GGUF to path through a temporary file in the same
// directory and renames it into place, so an interrupted write never leaves
// a truncated model that a later load would trust.
func (w *Writer) WriteFile(path string) (err error) {
	if w.err != nil {
		return w.err
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = w.WriteTo(fileWriter(f)); err != nil {
		return fmt.Errorf("writing %s: %w; nothing was written under that name", path, err)
	}
	// CreateTemp makes the file private (0600); a model is ordinary data.
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// WriteTo writes the whole GGUF file to out and returns the bytes written.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	if w.err != nil {
		return 0, w.err
	}
	e := &encoder{w: bufio.NewWriterSize(out, 1<<20)}
	e.bytes([]byte(magic))
	e.u32(version)
	e.u64(uint64(len(w.tensors)))
	e.u64(uint64(len(w.kvs) + 1))
	e.kv(KV{alignmentKey, uint32(Alignment)})
	for _, kv := range w.kvs {
		e.kv(kv)
	}
	var offset uint64
	for _, t := range w.tensors {
		e.str(t.name)
		e.u32(uint32(len(t.ne)))
		for _, n := range t.ne {
			e.u64(n)
		}
		e.u32(uint32(t.typ))
		e.u64(offset)
		offset += padded(t.byteSize())
	}
	e.pad()
	for i, t := range w.tensors {
		e.tensorData(t)
		e.pad()
		if w.Progress != nil && e.err == nil {
			w.Progress(i+1, len(w.tensors), t.name)
		}
	}
	if e.err == nil {
		e.err = e.w.Flush()
	}
	return e.n, e.err
}

func (t tensor) byteSize() uint64 {
	if t.raw != nil {
		return uint64(len(t.raw))
	}
	return t.elements() * uint64(t.typ.elementSize())
}

func (t tensor) elements() uint64 {
	n := uint64(1)
	for _, d := range t.ne {
		n *= d
	}
	return n
}

func padded(n uint64) uint64 { return (n + Alignment - 1) / Alignment * Alignment }

// encoder writes little-endian GGUF primitives, keeping the first error and
// the byte count (which drives the alignment padding).
type encoder struct {
	w       *bufio.Writer
	n       int64
	err     error
	scratch [8]byte
}

func (e *encoder) bytes(b []byte) {
	if e.err != nil {
		return
	}
	n, err := e.w.Write(b)
	e.n += int64(n)
	e.err = err
}

func (e *encoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.scratch[:], v)
	e.bytes(e.scratch[:4])
}
func (e *encoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.scratch[:], v)
	e.bytes(e.scratch[:8])
}
func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	e.bytes([]byte(s))
}

func (e *encoder) pad() {
	var zeros [Alignment]byte
	e.bytes(zeros[:int(padded(uint64(e.n))-uint64(e.n))])
}

func (e *encoder) kv(kv KV) {
	t, elem, _ := valueType(kv.Value) // checked by AddKV
	e.str(kv.Key)
	e.u32(uint32(t))
	v := reflect.ValueOf(kv.Value)
	if t != TypeArray {
		e.scalar(v)
		return
	}
	e.u32(uint32(elem))
	e.u64(uint64(v.Len()))
	for i := range v.Len() {
		e.scalar(v.Index(i))
	}
}

// scalar writes a value as its little-endian bytes: the low 1, 2, 4 or 8
// bytes of its bit pattern, or a length-prefixed string.
func (e *encoder) scalar(v reflect.Value) {
	var bits uint64
	switch v.Kind() {
	case reflect.String:
		e.str(v.String())
		return
	case reflect.Bool:
		if v.Bool() {
			bits = 1
		}
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		bits = v.Uint()
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits = uint64(v.Int())
	case reflect.Float32:
		bits = uint64(math.Float32bits(float32(v.Float())))
	case reflect.Float64:
		bits = math.Float64bits(v.Float())
	default:
		panic(fmt.Sprintf("gguf: value kind %v escaped AddKV's check", v.Kind()))
	}
	binary.LittleEndian.PutUint64(e.scratch[:], bits)
	e.bytes(e.scratch[:v.Type().Size()])
}

// tensorData encodes float tensors in chunks so a 100M-element model never
// needs a second full-size copy in memory.
func (e *encoder) tensorData(t tensor) {
	if t.raw != nil {
		e.bytes(t.raw)
		return
	}
	floats := t.floats
	if t.load != nil {
		if e.err != nil {
			return
		}
		var err error
		if floats, err = t.load(); err != nil {
			e.err = fmt.Errorf("tensor %q: %w", t.name, err)
			return
		}
		if uint64(len(floats)) != t.elements() {
			e.err = fmt.Errorf("tensor %q: loader returned %d values, shape needs %d", t.name, len(floats), t.elements())
			return
		}
	}
	const chunk = 1 << 16
	buf := make([]byte, 0, chunk*4)
	for start := 0; start < len(floats); start += chunk {
		buf = buf[:0]
		for _, f := range floats[start:min(start+chunk, len(floats))] {
			switch t.typ {
			case TensorF16:
				buf = binary.LittleEndian.AppendUint16(buf, F16FromFloat32(f))
			case TensorBF16:
				buf = binary.LittleEndian.AppendUint16(buf, BF16FromFloat32(f))
			default:
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(f))
			}
		}
		e.bytes(buf)
	}
}
