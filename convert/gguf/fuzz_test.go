package gguf

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rerank-api/rerank-api/internal/fuzzcheck"
)

// realSeeds are the vocabulary GGUFs of llama.cpp's tests (testdata/), with
// every array cut to its first entries so a seed stays a few kilobytes, and
// the first kilobytes of each file as it is (a truncated download).
func realSeeds(f *testing.F) [][]byte {
	var out [][]byte
	for _, name := range []string{"ggml-vocab-bert-bge.gguf", "ggml-vocab-llama-spm.gguf"} {
		path := filepath.Join("..", "..", "testdata", "llama.cpp", "models", name)
		m, err := ReadMetadata(path)
		if err != nil {
			f.Fatal(err)
		}
		w := NewWriter()
		for _, kv := range m.KVs {
			v := reflect.ValueOf(kv.Value)
			if v.Kind() == reflect.Slice && v.Len() > 8 {
				v = v.Slice(0, 8)
			}
			w.AddKV(kv.Key, v.Interface())
		}
		var buf bytes.Buffer
		if _, err := w.WriteTo(&buf); err != nil {
			f.Fatal(err)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, buf.Bytes(), raw[:2048])
	}
	return out
}

// FuzzReadMetadata feeds the GGUF header reader (what the backend reads
// before loading a model, and pull before trusting a download) arbitrary
// bytes: it must return an error or a header whose every part lies inside
// the file, without panicking and allocating in proportion to the file.
func FuzzReadMetadata(f *testing.F) {
	var sample bytes.Buffer
	if _, err := sampleWriter().WriteTo(&sample); err != nil {
		f.Fatal(err)
	}
	f.Add(sample.Bytes())
	for _, seed := range realSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m *Metadata
		var err error
		// Strings and slice headers take at most 4 times the bytes they
		// are read from, doubled while appending.
		fuzzcheck.Bounded(t, len(data), 16, 0, func() {
			d := &decoder{r: bufio.NewReader(bytes.NewReader(data)), size: int64(len(data))}
			m, err = d.metadata()
		})
		if err != nil {
			return
		}
		if m.DataOffset < 0 || m.Alignment == 0 || m.DataOffset%int64(m.Alignment) != 0 {
			t.Fatalf("data offset %d, alignment %d", m.DataOffset, m.Alignment)
		}
		for _, ti := range m.Tensors {
			if len(ti.Ne) > maxDims {
				t.Fatalf("tensor %q has %d dimensions", ti.Name, len(ti.Ne))
			}
		}
	})
}
