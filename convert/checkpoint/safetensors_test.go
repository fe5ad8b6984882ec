package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sampleTensors are small tensors in every float dtype plus an int64 buffer,
// with values that round differently in f16 and bf16.
func sampleTensors() ([]NamedTensor, map[string][]float32) {
	vals := map[string][]float32{
		"a.f32":  {1, -2.5, 3.14159, 1e-8, 65519, -0.1},
		"b.f16":  {1, -2.5, 3.14159, 1e-8, 65519, -0.1},
		"c.bf16": {1, -2.5, 3.14159, 1e-8, 65519, -0.1},
	}
	ids := make([]byte, 0, 32)
	for i := range int64(4) {
		ids = binary.LittleEndian.AppendUint64(ids, uint64(i))
	}
	return []NamedTensor{
		{Name: "c.bf16", Shape: []int64{3, 2}, DType: BF16, Data: BF16Bytes(vals["c.bf16"])},
		{Name: "a.f32", Shape: []int64{2, 3}, DType: F32, Data: F32Bytes(vals["a.f32"])},
		{Name: "b.f16", Shape: []int64{6}, DType: F16, Data: F16Bytes(vals["b.f16"])},
		{Name: "position_ids", Shape: []int64{1, 4}, DType: I64, Data: ids},
	}, vals
}

func TestSafetensorsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	tensors, vals := sampleTensors()
	meta := map[string]string{"format": "pt"}
	if err := WriteSafetensors(filepath.Join(dir, "model.safetensors"), tensors, meta); err != nil {
		t.Fatal(err)
	}
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	checkSample(t, c, tensors, vals)
	if !reflect.DeepEqual(c.Metadata(), meta) {
		t.Errorf("metadata %v, want %v", c.Metadata(), meta)
	}
}

// checkSample compares a checkpoint with sampleTensors: names sorted, shapes,
// dtypes, raw bytes, and floats equal to the values rounded to each dtype.
func checkSample(t *testing.T, c *Checkpoint, tensors []NamedTensor, vals map[string][]float32) {
	t.Helper()
	var names []string
	for _, ti := range c.Tensors() {
		names = append(names, ti.Name)
	}
	if want := []string{"a.f32", "b.f16", "c.bf16", "position_ids"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("tensors %v, want %v", names, want)
	}
	for _, nt := range tensors {
		info, ok := c.Info(nt.Name)
		if !ok || !reflect.DeepEqual(info, TensorInfo{nt.Name, nt.Shape, nt.DType}) {
			t.Errorf("Info(%s) = %v, want %v %s", nt.Name, info, nt.Shape, nt.DType)
		}
		raw, err := c.Raw(nt.Name)
		if err != nil || !bytes.Equal(raw, nt.Data) {
			t.Errorf("Raw(%s) = %x, %v; want %x", nt.Name, raw, err, nt.Data)
		}
		if !nt.DType.IsFloat() {
			if _, err := c.Float32(nt.Name); err == nil {
				t.Errorf("Float32(%s) of %s did not fail", nt.Name, nt.DType)
			}
			continue
		}
		got, err := c.Float32(nt.Name)
		if err != nil {
			t.Fatal(err)
		}
		for i, x := range vals[nt.Name] {
			want := roundTo(nt.DType, x)
			if got[i] != want {
				t.Errorf("%s[%d] = %g, want %g (%g rounded)", nt.Name, i, got[i], want, x)
			}
		}
	}
	if _, ok := c.Info("missing"); ok {
		t.Error("Info found a missing tensor")
	}
	if _, err := c.Float32("missing"); err == nil || !strings.Contains(err.Error(), `"missing"`) {
		t.Errorf("Float32(missing): %v", err)
	}
}

// roundTo rounds x the way an independent implementation would: f16 via
// its decimal neighbours, bf16 via math/big-free bit arithmetic on float64.
func roundTo(d DType, x float32) float32 {
	switch d {
	case F16:
		switch x {
		case 3.14159:
			return 3.140625
		case 1e-8:
			return 0 // below half the smallest f16 subnormal (2^-25)
		case 65519:
			return 65504 // just under the overflow threshold 65520
		case -0.1:
			return -0.0999755859375
		}
	case BF16:
		// bf16 keeps 8 significant bits: round the float64 value to them.
		f := float64(x)
		exp := math.Floor(math.Log2(math.Abs(f)))
		scale := math.Pow(2, 7-exp)
		return float32(math.RoundToEven(f*scale) / scale)
	}
	return x
}

func TestShardedSafetensors(t *testing.T) {
	dir := t.TempDir()
	tensors, vals := sampleTensors()
	shards := map[string][]NamedTensor{
		"model-00001-of-00002.safetensors": tensors[:2],
		"model-00002-of-00002.safetensors": tensors[2:],
	}
	index := map[string]any{"metadata": map[string]any{"total_size": 100}, "weight_map": map[string]string{}}
	for file, ts := range shards {
		if err := WriteSafetensors(filepath.Join(dir, file), ts, nil); err != nil {
			t.Fatal(err)
		}
		for _, nt := range ts {
			index["weight_map"].(map[string]string)[nt.Name] = file
		}
	}
	writeJSON(t, filepath.Join(dir, "model.safetensors.index.json"), index)
	// A stray single-file checkpoint must lose to the index, as in transformers.
	if err := WriteSafetensors(filepath.Join(dir, "pytorch_model.bin"), tensors[:1], nil); err != nil {
		t.Fatal(err)
	}
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if filepath.Base(c.Path()) != "model.safetensors.index.json" {
		t.Errorf("opened %s", c.Path())
	}
	checkSample(t, c, tensors, vals)
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSafetensorsByHand reads a file assembled byte by byte from the format
// description, so the reader is not only checked against this package's
// writer.
func TestSafetensorsByHand(t *testing.T) {
	header := `{"__metadata__":{"k":"v"},"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},` +
		`"b":{"dtype":"BF16","shape":[],"data_offsets":[4,6]}}`
	file := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	file = append(file, header...)
	file = append(file, 0x00, 0x3c, 0x00, 0xc0) // f16 1.0, -2.0
	file = append(file, 0x49, 0x40)             // bf16 3.140625
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), file, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w, err1 := c.Float32("w")
	b, err2 := c.Float32("b")
	if err1 != nil || err2 != nil || !reflect.DeepEqual(w, []float32{1, -2}) || !reflect.DeepEqual(b, []float32{3.140625}) {
		t.Errorf("w = %v (%v), b = %v (%v)", w, err1, b, err2)
	}
	if info, _ := c.Info("b"); len(info.Shape) != 0 {
		t.Errorf("scalar has shape %v", info.Shape)
	}
}

func TestOpenNothing(t *testing.T) {
	_, err := Open(t.TempDir())
	if err == nil {
		t.Fatal("opened an empty directory")
	}
	for _, name := range []string{"model.safetensors.index.json", "model.safetensors", "pytorch_model.bin.index.json", "pytorch_model.bin"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not say it looked for %s", err, name)
		}
	}
}
