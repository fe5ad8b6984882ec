package gguf

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rerank-api/rerank-api/internal/faultio"
)

// A disk that fills while a GGUF is written fails WriteFile with the
// cause, and leaves neither a file under the final name nor the temporary
// one.
func TestWriteFileOnAFullDisk(t *testing.T) {
	for _, left := range []int{0, 10, 100, 5000} {
		fileWriter = func(f *os.File) io.Writer { return &faultio.FullDisk{W: f, Left: left} }
		w := NewWriter()
		w.AddKV("general.architecture", "bert")
		w.AddTensor("t", []uint64{4096}, TensorF32, make([]float32, 4096))
		dir := t.TempDir()
		path := filepath.Join(dir, "m.gguf")
		err := w.WriteFile(path)
		fileWriter = func(f *os.File) io.Writer { return f }
		if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "nothing was written under that name") {
			t.Fatalf("after %d bytes: %v, want the disk-full error saying nothing was written", left, err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Fatalf("after %d bytes: %v left in the directory", left, entries)
		}
	}
}
