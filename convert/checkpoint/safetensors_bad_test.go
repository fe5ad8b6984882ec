package checkpoint

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/internal/fuzzcheck"
)

// safetensorsFile assembles a file from a header and a data section.
func safetensorsFile(header string, data int) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), make([]byte, data)...)
}

func TestSafetensorsRejectsBadFiles(t *testing.T) {
	entry := func(dtype, shape, offsets string) string {
		return `{"t":{"dtype":"` + dtype + `","shape":` + shape + `,"data_offsets":` + offsets + `}}`
	}
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "shorter than"},
		{"short", []byte{1, 2, 3}, "shorter than"},
		{"header past the end", safetensorsFile(`{}`, 0)[:9], "does not fit"},
		{"huge header length", binary.LittleEndian.AppendUint64(nil, 1<<62), "does not fit"},
		{"header not JSON", safetensorsFile(`{"t":`, 0), "invalid safetensors header"},
		{"header an array", safetensorsFile(`[1,2]`, 0), "invalid safetensors header"},
		{"entry not an object", safetensorsFile(`{"t":3}`, 0), `tensor "t"`},
		{"metadata not strings", safetensorsFile(`{"__metadata__":{"a":1}}`, 0), "__metadata__"},
		{"unknown dtype", safetensorsFile(entry("Q4_K", "[2]", "[0,2]"), 2), "unknown dtype"},
		{"missing offsets", safetensorsFile(`{"t":{"dtype":"F32","shape":[1]}}`, 4), "data_offsets"},
		{"three offsets", safetensorsFile(entry("F32", "[1]", "[0,4,8]"), 8), "data_offsets"},
		{"end past data", safetensorsFile(entry("F32", "[2]", "[0,8]"), 4), "truncated"},
		{"begin after end", safetensorsFile(entry("F32", "[0]", "[4,0]"), 4), "outside"},
		{"negative begin", safetensorsFile(entry("F32", "[1]", "[-4,0]"), 4), "outside"},
		{"size mismatch", safetensorsFile(entry("F32", "[3]", "[0,8]"), 8), "needs"},
		{"negative dim", safetensorsFile(entry("F32", "[-1,-4]", "[0,16]"), 16), "needs"},
		{"overflowing shape", safetensorsFile(entry("F32", "[4611686018427387904,4]", "[0,0]"), 0), "needs"},
		{"fractional dim", safetensorsFile(entry("F32", "[1.5]", "[0,4]"), 4), `tensor "t"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), c.file, 0o644); err != nil {
				t.Fatal(err)
			}
			wantOpenError(t, dir, c.want)
		})
	}
}

// wantOpenError checks that Open refuses dir with an error mentioning want.
func wantOpenError(t *testing.T, dir, want string) {
	t.Helper()
	c, err := Open(dir)
	if err == nil {
		c.Close()
		t.Fatalf("opened a bad checkpoint; want an error mentioning %q", want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not mention %q", err, want)
	}
}

func TestShardIndexRejects(t *testing.T) {
	tensors, _ := sampleTensors()
	cases := []struct {
		name  string
		index string
		want  string
	}{
		{"not JSON", `{`, "invalid index"},
		{"no weight map", `{"metadata":{}}`, "no weight_map"},
		{"missing shard", `{"weight_map":{"a.f32":"gone.safetensors"}}`, "gone.safetensors"},
		{"shard outside", `{"weight_map":{"a.f32":"../x.safetensors"}}`, "outside the model directory"},
		{"tensor not in shard", `{"weight_map":{"a.f32":"one.safetensors","z":"one.safetensors"}}`, `"z" is not in its shard`},
		{"tensor in another shard", `{"weight_map":{"a.f32":"two.safetensors","c.bf16":"one.safetensors"}}`, `"a.f32" is in`},
		{"same tensor in two shards", `{"weight_map":{"a.f32":"one.safetensors","x":"dup.safetensors"}}`, "also in"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for file, ts := range map[string][]NamedTensor{
				"one.safetensors": tensors[:2], "two.safetensors": tensors[2:], "dup.safetensors": tensors[:1],
			} {
				if err := WriteSafetensors(filepath.Join(dir, file), ts, nil); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), []byte(c.index), 0o644); err != nil {
				t.Fatal(err)
			}
			wantOpenError(t, dir, c.want)
		})
	}
}

func TestWriteSafetensorsRejects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.safetensors")
	cases := map[string][]NamedTensor{
		"short data":    {{Name: "a", Shape: []int64{2}, DType: F32, Data: make([]byte, 4)}},
		"unknown dtype": {{Name: "a", Shape: []int64{1}, DType: "F12", Data: make([]byte, 2)}},
		"repeated name": {{Name: "a", DType: F32, Data: make([]byte, 4)}, {Name: "a", DType: F32, Data: make([]byte, 4)}},
		"reserved name": {{Name: "__metadata__", DType: F32, Data: make([]byte, 4)}},
		"empty name":    {{Name: "", DType: F32, Data: make([]byte, 4)}},
	}
	for name, ts := range cases {
		if err := WriteSafetensors(path, ts, map[string]string{"a": "b"}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// FuzzOpenSafetensors checks that no file makes Open or Raw panic or read
// out of bounds. `go test` runs the seeds; `go test -fuzz` explores.
func FuzzOpenSafetensors(f *testing.F) {
	f.Add(safetensorsFile(`{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 8))
	f.Add(safetensorsFile(`{"__metadata__":{"a":"b"},"t":{"dtype":"BF16","shape":[1,1],"data_offsets":[0,2]}}`, 2))
	f.Add(safetensorsFile(`{"t":{"dtype":"I64","shape":[],"data_offsets":[0,8]}}`, 8))
	dir := f.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	f.Fuzz(func(t *testing.T, file []byte) {
		if err := os.WriteFile(path, file, 0o644); err != nil {
			t.Fatal(err)
		}
		// Every tensor lies inside the file and none overlaps another, so
		// reading them all copies the file once, plus JSON's overhead.
		fuzzcheck.Bounded(t, len(file), 64, 0, func() { openedReadsBack(t, dir) })
	})
}

// openedReadsBack is the fuzzers' property: a directory is either refused
// by Open, or every tensor in it reads at the size its shape promises.
func openedReadsBack(t *testing.T, dir string) {
	t.Helper()
	c, err := Open(dir)
	if err != nil {
		return
	}
	defer c.Close()
	for _, ti := range c.Tensors() {
		raw, err := c.Raw(ti.Name)
		if err != nil || int64(len(raw)) != numel(ti.Shape, 1<<40)*int64(ti.DType.Size()) {
			t.Errorf("Raw(%s) = %d bytes, %v for shape %v", ti.Name, len(raw), err, ti.Shape)
		}
	}
}
