package checkpoint

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rerank-api/rerank-api/internal/fuzzcheck"
)

// torchZip is a torch.save archive: <prefix>/data.pkl, one member per
// storage (stored, as torch.save writes them, or deflated, as a repacked
// archive has them), and the version and byteorder records.
func torchZip(prefix string, pkl []byte, storages map[string][]byte, deflate bool) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, data []byte, method uint16) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: prefix + "/" + name, Method: method})
		if err != nil {
			panic(err) // a bytes.Buffer does not fail
		}
		w.Write(data)
	}
	add("data.pkl", pkl, zip.Store)
	add("byteorder", []byte("little"), zip.Store)
	for key, data := range storages {
		method := zip.Store
		if deflate {
			method = zip.Deflate
		}
		add("data/"+key, data, method)
	}
	add("version", []byte("3\n"), zip.Store)
	zw.Close()
	return buf.Bytes()
}

// realTorchSeed is the tiny BertForSequenceClassification of testdata as
// real transformers saved it, its pickle as it is and every storage zeroed
// and deflated, so the seed keeps the real layout in a few kilobytes.
func realTorchSeed(f *testing.F) []byte {
	path := filepath.Join("..", "..", "testdata", "tiny-models", "BertForSequenceClassification", "pytorch_model.bin")
	zr, err := zip.OpenReader(path)
	if err != nil {
		f.Fatal(err)
	}
	defer zr.Close()
	var pkl []byte
	storages := map[string][]byte{}
	for _, zf := range zr.File {
		dir, base := filepath.Split(zf.Name)
		switch {
		case base == "data.pkl":
			rc, err := zf.Open()
			if err != nil {
				f.Fatal(err)
			}
			pkl, err = io.ReadAll(rc)
			rc.Close()
			if err != nil {
				f.Fatal(err)
			}
		case filepath.Base(dir) == "data":
			storages[base] = make([]byte, zf.UncompressedSize64)
		}
	}
	return torchZip("pytorch_model", pkl, storages, true)
}

// FuzzTorchArchive feeds whole torch.save archives, zip structure
// included: a member whose header lies about its size (a zip bomb, a stored
// storage longer than the file), huge shapes and strides, broken pickles.
// Open must refuse them or yield tensors that read back at the size their
// shape promises, and reading one tensor may allocate no more than its
// storage can hold: the file's size, or deflate's limit for a compressed
// member.
func FuzzTorchArchive(f *testing.F) {
	entries, storages := syntheticState()
	f.Add(torchZip("archive", torchPickle(entries), storages, false))
	f.Add(torchZip("archive", torchPickle(entries), storages, true))
	f.Add(realTorchSeed(f))
	dir := f.TempDir()
	path := filepath.Join(dir, "pytorch_model.bin")
	f.Fuzz(func(t *testing.T, file []byte) {
		if err := os.WriteFile(path, file, 0o644); err != nil {
			t.Fatal(err)
		}
		var c *Checkpoint
		fuzzcheck.Bounded(t, len(file), 64, 0, func() { c, _ = Open(dir) })
		if c == nil {
			return
		}
		defer c.Close()
		for _, ti := range c.Tensors() {
			var raw []byte
			var err error
			// The inflated member, grown by doubling, then the tensor's copy.
			fuzzcheck.Bounded(t, len(file), 4*maxDeflateRatio, 0, func() { raw, err = c.Raw(ti.Name) })
			if err == nil && int64(len(raw)) != numel(ti.Shape, 1<<40)*int64(ti.DType.Size()) {
				t.Errorf("Raw(%s) = %d bytes for shape %v", ti.Name, len(raw), ti.Shape)
			}
		}
	})
}

// The fuzz targets' findings, each kept as a test that names it.

func TestSafetensorsRejectsOverlappingTensors(t *testing.T) {
	dir := t.TempDir()
	header := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), safetensorsFile(header, 8), 0o644); err != nil {
		t.Fatal(err)
	}
	wantOpenError(t, dir, "overlap")
}

// rawZip is an archive with data.pkl and one member "data/0" whose
// directory entry claims size bytes (method store or deflate) over data.
func rawZip(t *testing.T, pkl []byte, method uint16, size uint64, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "archive/data.pkl", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(pkl)
	w, err = zw.CreateRaw(&zip.FileHeader{Name: "archive/data/0", Method: method,
		CompressedSize64: uint64(len(data)), UncompressedSize64: size})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestTorchRejectsHostileArchives(t *testing.T) {
	huge := []torchEntry{{name: "w", class: "FloatStorage", key: "0", numel: 1 << 38, shape: []int64{1 << 38}, strides: []int64{1}}}
	stride := []torchEntry{{name: "w", class: "FloatStorage", key: "0", numel: 6, shape: []int64{4}, strides: []int64{1 << 62}}}
	cases := []struct {
		name, want string
		file       []byte
	}{
		// A stored member whose directory entry claims a terabyte: reading
		// the tensor allocated it before finding the file short.
		{"stored member longer than the file", "do not fit", rawZip(t, torchPickle(huge), zip.Store, 1<<40, make([]byte, 64))},
		{"stored sizes disagree", "do not fit", rawZip(t, torchPickle(huge), zip.Store, 1<<40, nil)},
		{"zip bomb", "cannot inflate", rawZip(t, torchPickle(huge), zip.Deflate, 1<<40, make([]byte, 64))},
		// (4-1) × 2^62 wraps around to a negative int64, which passed the
		// bounds check and made the gather index out of range.
		{"stride wrapping around", "reach past", torchZip("archive", torchPickle(stride), map[string][]byte{"0": make([]byte, 24)}, false)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "pytorch_model.bin"), c.file, 0o644); err != nil {
				t.Fatal(err)
			}
			wantOpenError(t, dir, c.want)
		})
	}
}

func TestUnpickleLargeDictInLinearTime(t *testing.T) {
	p := pk{}.op('}', '(')
	for i := range 200000 {
		p = p.int(int64(i)).op('N')
	}
	start := time.Now()
	v, err := unpickleTest(p.op('u', '.'))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(v.(*pyDict).keys); n != 200000 {
		t.Fatalf("%d keys", n)
	}
	// Quadratic insertion took minutes here; linear takes milliseconds.
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("200000 keys took %v", d)
	}
}
