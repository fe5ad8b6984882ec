package gguf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// everyKV holds one value of each type AddKV accepts, scalar and array.
var everyKV = []KV{
	{"u8", uint8(200)},
	{"i8", int8(-100)},
	{"u16", uint16(60000)},
	{"i16", int16(-30000)},
	{"u32", uint32(4000000000)},
	{"i32", int32(-2000000000)},
	{"f32", float32(1e-12)},
	{"bool.t", true},
	{"bool.f", false},
	{"str", "héllo ▁world"},
	{"str.empty", ""},
	{"u64", uint64(1) << 60},
	{"i64", int64(-1) << 60},
	{"f64", math.Pi},
	{"a.u8", []uint8{1, 2, 255}},
	{"a.i8", []int8{-1, 0, 1}},
	{"a.u16", []uint16{1, 65535}},
	{"a.i16", []int16{-32768, 32767}},
	{"a.u32", []uint32{0, 7}},
	{"a.i32", []int32{1, 3, 3, 3, 1}},
	{"a.f32", []float32{0.5, -1.25}},
	{"a.bool", []bool{true, false, true}},
	{"a.str", []string{"[CLS]", "▁the", "ing", ""}},
	{"a.u64", []uint64{math.MaxUint64}},
	{"a.i64", []int64{math.MinInt64}},
	{"a.f64", []float64{math.Inf(1), -0.0}},
	{"a.empty", []string{}},
}

func sampleWriter() *Writer {
	w := NewWriter()
	for _, kv := range everyKV {
		w.AddKV(kv.Key, kv.Value)
	}
	// An HF [out=3, in=2] matrix is ne = {2, 3}: rows of two elements.
	w.AddTensor("matrix", []uint64{2, 3}, TensorF32, []float32{1, 2, 3, 4, 5, 6})
	w.AddTensor("half", []uint64{5}, TensorF16, []float32{1, -2, 0.1, 65504, 0})
	w.AddRawTensor("raw.bf16", []uint64{2}, TensorBF16, []byte{0x80, 0x3f, 0x00, 0xc0}) // 1, -2
	return w
}

func writeSample(t *testing.T) (string, []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sample.gguf")
	if err := sampleWriter().WriteFile(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, b
}

func TestRoundTrip(t *testing.T) {
	path, file := writeSample(t)
	m, err := ReadMetadata(path)
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != 3 || m.Alignment != 32 || m.DataOffset%32 != 0 {
		t.Errorf("version %d alignment %d data offset %d", m.Version, m.Alignment, m.DataOffset)
	}
	wantKVs := append([]KV{{"general.alignment", uint32(32)}}, everyKV...)
	if !reflect.DeepEqual(m.KVs, wantKVs) {
		t.Errorf("KVs differ:\n got %#v\nwant %#v", m.KVs, wantKVs)
	}
	wantTensors := []TensorInfo{
		{"matrix", []uint64{2, 3}, TensorF32, 0},
		{"half", []uint64{5}, TensorF16, 32}, // 24 bytes padded to 32
		{"raw.bf16", []uint64{2}, TensorBF16, 64},
	}
	if !reflect.DeepEqual(m.Tensors, wantTensors) {
		t.Errorf("tensors differ:\n got %+v\nwant %+v", m.Tensors, wantTensors)
	}

	data := file[m.DataOffset:]
	for i, want := range []float32{1, 2, 3, 4, 5, 6} {
		if got := math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:])); got != want {
			t.Errorf("matrix[%d] = %g, want %g", i, got, want)
		}
	}
	for i, want := range []uint16{0x3c00, 0xc000, 0x2e66, 0x7bff, 0} {
		if got := binary.LittleEndian.Uint16(data[32+2*i:]); got != want {
			t.Errorf("half[%d] = %#04x, want %#04x", i, got, want)
		}
	}
	if !bytes.Equal(data[64:68], []byte{0x80, 0x3f, 0x00, 0xc0}) {
		t.Errorf("raw tensor bytes = %x", data[64:68])
	}
	if len(data) != 96 {
		t.Errorf("data section is %d bytes, want 96 (three tensors padded to 32)", len(data))
	}
}

// The layout llama.cpp's gguf.cpp expects, checked byte by byte rather than
// through our own reader, which could share a misunderstanding.
func TestHeaderBytes(t *testing.T) {
	w := NewWriter()
	w.AddKV("k", uint32(7))
	w.AddTensor("t", []uint64{1}, TensorF32, []float32{1})
	var buf bytes.Buffer
	n, err := w.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteTo = %d, %v; buffer has %d bytes", n, err, buf.Len())
	}
	le := binary.LittleEndian
	var want []byte
	want = append(want, "GGUF"...)
	want = le.AppendUint32(want, 3) // version
	want = le.AppendUint64(want, 1) // tensors
	want = le.AppendUint64(want, 2) // KVs, general.alignment included
	want = le.AppendUint64(want, uint64(len("general.alignment")))
	want = append(want, "general.alignment"...)
	want = le.AppendUint32(want, 4) // GGUF_TYPE_UINT32
	want = le.AppendUint32(want, 32)
	want = le.AppendUint64(want, 1)
	want = append(want, 'k')
	want = le.AppendUint32(want, 4)
	want = le.AppendUint32(want, 7)
	want = le.AppendUint64(want, 1)
	want = append(want, 't')
	want = le.AppendUint32(want, 1) // n_dims
	want = le.AppendUint64(want, 1) // ne[0]
	want = le.AppendUint32(want, 0) // GGML_TYPE_F32
	want = le.AppendUint64(want, 0) // offset
	for len(want)%32 != 0 {
		want = append(want, 0)
	}
	want = le.AppendUint32(want, math.Float32bits(1))
	want = append(want, make([]byte, 28)...)
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("bytes differ:\n got %x\nwant %x", buf.Bytes(), want)
	}
}

func TestDeterministic(t *testing.T) {
	_, a := writeSample(t)
	_, b := writeSample(t)
	if !bytes.Equal(a, b) {
		t.Error("two writes of the same content differ")
	}
}

func TestWriterRejects(t *testing.T) {
	cases := []struct {
		name string
		add  func(w *Writer)
		want string
	}{
		{"plain int", func(w *Writer) { w.AddKV("n", 3) }, "unsupported metadata value type int"},
		{"nested array", func(w *Writer) { w.AddKV("n", [][]int32{{1}}) }, "unsupported"},
		{"duplicate key", func(w *Writer) { w.AddKV("k", true); w.AddKV("k", false) }, "duplicate"},
		{"alignment", func(w *Writer) { w.AddKV("general.alignment", uint32(64)) }, "written by the Writer"},
		{"shape", func(w *Writer) { w.AddTensor("t", []uint64{2, 2}, TensorF32, make([]float32, 3)) }, "holds 4 elements but 3"},
		{"dims", func(w *Writer) { w.AddTensor("t", []uint64{1, 1, 1, 1, 1}, TensorF32, []float32{1}) }, "5 dimensions"},
		{"long name", func(w *Writer) { w.AddTensor(strings.Repeat("x", 64), []uint64{1}, TensorF32, []float32{1}) }, "1..63 bytes"},
		{"duplicate tensor", func(w *Writer) {
			w.AddTensor("t", []uint64{1}, TensorF32, []float32{1})
			w.AddTensor("t", []uint64{1}, TensorF32, []float32{1})
		}, "duplicate tensor"},
		{"bf16 from floats", func(w *Writer) { w.AddTensor("t", []uint64{1}, TensorBF16, []float32{1}) }, "cannot convert"},
		{"odd raw", func(w *Writer) { w.AddRawTensor("t", []uint64{1}, TensorF16, []byte{1, 2, 3}) }, "whole number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := NewWriter()
			c.add(w)
			path := filepath.Join(t.TempDir(), "x.gguf")
			err := w.WriteFile(path)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if _, statErr := os.Stat(path); !os.IsNotExist(statErr) {
				t.Error("a failed write left a file behind")
			}
		})
	}
}

func TestReadMetadataRejectsCorruptFiles(t *testing.T) {
	_, good := writeSample(t)
	dir := t.TempDir()
	cases := map[string][]byte{
		"not gguf":  append([]byte("GGML"), good[4:]...),
		"truncated": good[:100],
		"huge count": func() []byte {
			b := bytes.Clone(good)
			binary.LittleEndian.PutUint64(b[16:], 1<<40) // n_kv
			return b
		}(),
	}
	for name, b := range cases {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadMetadata(path); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// A lazily loaded tensor writes the same bytes as an eager one, and
// Progress sees every tensor once, in order.
func TestAddTensorFuncMatchesAddTensor(t *testing.T) {
	data := []float32{1, -2.5, 3.25, 0.1, 65504, -0}
	eager, lazy := NewWriter(), NewWriter()
	for _, typ := range []TensorType{TensorF32, TensorF16} {
		name := "t." + typ.String()
		eager.AddTensor(name, []uint64{3, 2}, typ, data)
		lazy.AddTensorFunc(name, []uint64{3, 2}, typ, func() ([]float32, error) { return data, nil })
	}
	var seen []string
	lazy.Progress = func(done, total int, name string) { seen = append(seen, fmt.Sprintf("%d/%d %s", done, total, name)) }
	var a, b bytes.Buffer
	if _, err := eager.WriteTo(&a); err != nil {
		t.Fatal(err)
	}
	if _, err := lazy.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("lazy and eager tensors wrote different bytes")
	}
	if got := strings.Join(seen, ","); got != "1/2 t.f32,2/2 t.f16" {
		t.Errorf("progress %q", got)
	}

	bad := NewWriter()
	bad.AddTensorFunc("short", []uint64{4}, TensorF32, func() ([]float32, error) { return data[:2], nil })
	if _, err := bad.WriteTo(io.Discard); err == nil || !strings.Contains(err.Error(), "short") {
		t.Errorf("a loader returning too few values must fail naming the tensor, got %v", err)
	}
}
