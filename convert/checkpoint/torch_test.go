package checkpoint

import (
	"archive/zip"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// torchEntry is one state dict entry for torchPickle.
type torchEntry struct {
	name, class, key string // storage class (FloatStorage, ...) and data/<key>
	numel, offset    int64
	shape, strides   []int64
	parameter        bool // wrapped in _rebuild_parameter, as nn.Parameter is
}

// torchPickle writes data.pkl the way torch.save writes a state dict:
// an OrderedDict whose values are _rebuild_tensor_v2 calls on persistent
// storage references, and a BUILD with the _metadata attribute.
func torchPickle(entries []torchEntry) []byte {
	tuple := func(p pk, v []int64) pk {
		p = p.op('(')
		for _, x := range v {
			p = p.int(x)
		}
		return p.op('t')
	}
	p := pk{}.op(0x80, 2).global("collections", "OrderedDict").op(')', 'R', 'q', 0, '(')
	for _, e := range entries {
		p = p.str(e.name)
		if e.parameter {
			p = p.global("torch._utils", "_rebuild_parameter")
		}
		p = p.global("torch._utils", "_rebuild_tensor_v2").op('(')
		p = p.op('(').str("storage").global("torch", e.class).str(e.key).str("cpu").int(e.numel).op('t', 'Q')
		p = tuple(tuple(p.int(e.offset), e.shape), e.strides)
		p = p.op(0x89).global("collections", "OrderedDict").op(')', 'R', 't', 'R')
		if e.parameter {
			p = p.op(0x88).global("collections", "OrderedDict").op(')', 'R', 0x87, 'R')
		}
	}
	p = p.op('u', '}').str("_metadata").global("collections", "OrderedDict").op(')', 'R', 's', 'b')
	return p.op('.')
}

// writeTorchZip writes a torch.save archive: <prefix>/data.pkl, one stored
// member per storage, and the version and byteorder records.
func writeTorchZip(t *testing.T, path, prefix string, pkl []byte, storages map[string][]byte, deflate bool) {
	t.Helper()
	if err := os.WriteFile(path, torchZip(prefix, pkl, storages, deflate), 0o644); err != nil {
		t.Fatal(err)
	}
}

// syntheticState covers what real state dicts contain: f32, f16 and bf16
// storages, a transposed (non-contiguous) view, two tensors sharing one
// storage at different offsets, a Parameter, an int64 buffer and a scalar.
func syntheticState() ([]torchEntry, map[string][]byte) {
	ids := make([]byte, 0, 24)
	for _, x := range []int64{0, 1, -1} {
		ids = binary.LittleEndian.AppendUint64(ids, uint64(x))
	}
	entries := []torchEntry{
		{name: "m", class: "FloatStorage", key: "0", numel: 6, shape: []int64{2, 3}, strides: []int64{3, 1}},
		{name: "m_t", class: "FloatStorage", key: "0", numel: 6, shape: []int64{3, 2}, strides: []int64{1, 3}},
		{name: "tail", class: "FloatStorage", key: "0", numel: 6, offset: 4, shape: []int64{2}, strides: []int64{1}},
		{name: "half", class: "HalfStorage", key: "1", numel: 2, shape: []int64{2, 1}, strides: []int64{1, 1}},
		{name: "brain", class: "BFloat16Storage", key: "2", numel: 2, shape: []int64{2}, strides: []int64{1}, parameter: true},
		{name: "ids", class: "LongStorage", key: "3", numel: 3, shape: []int64{1, 3}, strides: []int64{3, 1}},
		{name: "scalar", class: "FloatStorage", key: "4", numel: 1, shape: []int64{}, strides: []int64{}},
	}
	storages := map[string][]byte{
		"0": F32Bytes([]float32{1, 2, 3, 4, 5, 6}),
		"1": F16Bytes([]float32{0.5, -8}),
		"2": BF16Bytes([]float32{3, -0.25}),
		"3": ids,
		"4": F32Bytes([]float32{42}),
	}
	return entries, storages
}

func TestTorchSynthetic(t *testing.T) {
	for _, deflate := range []bool{false, true} {
		t.Run(fmt.Sprintf("deflate=%v", deflate), func(t *testing.T) {
			dir := t.TempDir()
			entries, storages := syntheticState()
			writeTorchZip(t, filepath.Join(dir, "pytorch_model.bin"), "archive", torchPickle(entries), storages, deflate)
			c, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			want := map[string][]float32{
				"m": {1, 2, 3, 4, 5, 6}, "m_t": {1, 4, 2, 5, 3, 6}, "tail": {5, 6},
				"half": {0.5, -8}, "brain": {3, -0.25}, "scalar": {42},
			}
			for name, w := range want {
				got, err := c.Float32(name)
				if err != nil || !reflect.DeepEqual(got, w) {
					t.Errorf("%s = %v, %v; want %v", name, got, err, w)
				}
			}
			infos := map[string]TensorInfo{}
			for _, ti := range c.Tensors() {
				infos[ti.Name] = ti
			}
			for _, e := range entries {
				if ti := infos[e.name]; !reflect.DeepEqual(ti.Shape, e.shape) {
					t.Errorf("%s: shape %v, want %v", e.name, ti.Shape, e.shape)
				}
			}
			if infos["half"].DType != F16 || infos["brain"].DType != BF16 || infos["ids"].DType != I64 {
				t.Errorf("dtypes %v", infos)
			}
			if raw, err := c.Raw("ids"); err != nil || !reflect.DeepEqual(raw, storages["3"]) {
				t.Errorf("Raw(ids) = %x, %v", raw, err)
			}
			if _, err := c.Float32("ids"); err == nil {
				t.Error("Float32 read an int64 buffer")
			}
		})
	}
}

func TestTorchSharded(t *testing.T) {
	dir := t.TempDir()
	entries, storages := syntheticState()
	writeTorchZip(t, filepath.Join(dir, "pytorch_model-00001-of-00002.bin"), "pytorch_model",
		torchPickle(entries[:3]), map[string][]byte{"0": storages["0"]}, false)
	writeTorchZip(t, filepath.Join(dir, "pytorch_model-00002-of-00002.bin"), "pytorch_model",
		torchPickle(entries[3:4]), map[string][]byte{"1": storages["1"]}, false)
	writeJSON(t, filepath.Join(dir, "pytorch_model.bin.index.json"), map[string]any{"weight_map": map[string]string{
		"m": "pytorch_model-00001-of-00002.bin", "m_t": "pytorch_model-00001-of-00002.bin",
		"tail": "pytorch_model-00001-of-00002.bin", "half": "pytorch_model-00002-of-00002.bin",
	}})
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n := len(c.Tensors()); n != 4 {
		t.Errorf("%d tensors, want 4", n)
	}
	if got, err := c.Float32("half"); err != nil || !reflect.DeepEqual(got, []float32{0.5, -8}) {
		t.Errorf("half = %v, %v", got, err)
	}
}

func TestTorchRejects(t *testing.T) {
	entries, storages := syntheticState()
	base := entries[:1]
	with := func(f func(e *torchEntry)) []byte {
		e := base[0]
		f(&e)
		return torchPickle([]torchEntry{e})
	}
	cases := []struct {
		name     string
		pkl      []byte
		storages map[string][]byte
		want     string
	}{
		{"missing storage", torchPickle(base), nil, "no archive/data/0"},
		{"storage too small", torchPickle(base), map[string][]byte{"0": make([]byte, 20)}, "fewer than 6 F32"},
		{"view past storage", with(func(e *torchEntry) { e.offset = 1 }), storages, "reach past"},
		{"shape past storage", with(func(e *torchEntry) { e.shape = []int64{3, 3} }), storages, "does not fit"},
		{"negative stride", with(func(e *torchEntry) { e.strides = []int64{-1, 1} }), storages, "negative stride"},
		{"rank mismatch", with(func(e *torchEntry) { e.strides = []int64{1} }), storages, "not (storage, offset"},
		{"unknown storage class", with(func(e *torchEntry) { e.class = "QUInt8Storage" }), storages, "torch.QUInt8Storage"},
		{"code execution", pk{}.op(0x80, 2).global("os", "system").str("ls").op(0x85, 'R', '.'), nil, "refusing to load os.system"},
		{"builtins.eval", pk{}.str("builtins").str("eval").op(0x93, '.'), nil, "builtins.eval"},
		{"not a dict", pk{}.int(1).op('.'), nil, "not a state dict"},
		{"not a tensor", pk{}.op('}').str("x").int(1).op('s', '.'), nil, `"x" is a int64`},
		{"int key", pk{}.op('}').int(1).int(1).op('s', '.'), nil, "not a string"},
		{"not a storage reference", pk{}.op('}').str("x").str("y").op('Q', 's', '.'), nil, "not a storage reference"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTorchZip(t, filepath.Join(dir, "pytorch_model.bin"), "archive", c.pkl, c.storages, false)
			wantOpenError(t, dir, c.want)
		})
	}
}

func TestTorchRejectsArchives(t *testing.T) {
	cases := []struct {
		name, want string
		write      func(path string) error
	}{
		{"legacy pickle", "torch < 1.6", func(p string) error {
			return os.WriteFile(p, []byte{0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.'}, 0o644)
		}},
		{"no data.pkl", "no <dir>/data.pkl", func(p string) error {
			f, _ := os.Create(p)
			zw := zip.NewWriter(f)
			zw.Create("model/other.txt")
			zw.Close()
			return f.Close()
		}},
		{"big-endian", `"big"-endian`, func(p string) error {
			f, _ := os.Create(p)
			zw := zip.NewWriter(f)
			zw.Create("archive/data.pkl")
			w, _ := zw.Create("archive/byteorder")
			w.Write([]byte("big"))
			zw.Close()
			return f.Close()
		}},
	}
	for _, c := range cases {
		dir := t.TempDir()
		if err := c.write(filepath.Join(dir, "pytorch_model.bin")); err != nil {
			t.Fatal(err)
		}
		wantOpenError(t, dir, c.want)
	}
}

// FuzzTorchPickle feeds arbitrary data.pkl files next to valid storages:
// Open may refuse them but must not panic, and whatever it accepts must
// read back at the size its shape promises.
func FuzzTorchPickle(f *testing.F) {
	entries, storages := syntheticState()
	f.Add(torchPickle(entries))
	f.Add(torchPickle(entries[1:2]))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, pkl []byte) {
		writeTorchZip(t, filepath.Join(dir, "pytorch_model.bin"), "archive", pkl, storages, false)
		openedReadsBack(t, dir)
	})
}
