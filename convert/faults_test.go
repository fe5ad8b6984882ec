package convert

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// A disk that fills while llama.cpp's quantizer writes fails the
// conversion with the cause, and leaves nothing behind: no file under the
// output's name, no half-written quantized file, no f32 intermediate.
// (The f32 write itself is gguf's TestWriteFileOnAFullDisk.)
func TestConvertOnAFullDisk(t *testing.T) {
	src := writeCheckpoint(t, testmodel.Tiny(7, "cls"), testmodel.HFOptions{Arch: "BertModel", Tokenizer: "wordpiece"})
	dir := t.TempDir()
	out := filepath.Join(dir, "m.gguf")
	quantize := func(in, part, _ string) error {
		data, err := os.ReadFile(in)
		if err != nil {
			return err
		}
		// What llama.cpp's writer leaves when the disk fills mid-way.
		if err := os.WriteFile(part, data[:len(data)/3], 0o644); err != nil {
			return err
		}
		return &os.PathError{Op: "write", Path: part, Err: syscall.ENOSPC}
	}
	err := Convert(context.Background(), Options{Input: src, Output: out, OutType: "q8_0", Quantize: quantize})
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "quantizing to q8_0") {
		t.Fatalf("got %v, want the disk-full error from quantizing", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("left in the output directory: %v", entries)
	}
}
