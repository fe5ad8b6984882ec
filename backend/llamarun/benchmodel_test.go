package llamarun_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// benchFile is a model file a benchmark builds once per run, however many
// sub-benchmarks use it: writing and converting a BERT-base-sized model
// takes longer than some of the measurements.
type benchFile struct {
	once sync.Once
	path string
	err  error
}

// get returns the file, calling write(dir) the first time to create it as
// dir/name in a fresh temporary directory.
func (f *benchFile) get(b *testing.B, name string, write func(dir, path string) error) string {
	f.once.Do(func() {
		dir, err := os.MkdirTemp("", "rerank-api-bench-")
		if err != nil {
			f.err = err
			return
		}
		f.path = filepath.Join(dir, name)
		f.err = write(dir, f.path)
	})
	if f.err != nil {
		b.Fatal(f.err)
	}
	return f.path
}
