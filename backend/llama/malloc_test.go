package llama

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// residentBytes reads this process's RSS from /proc/self/statm.
func residentBytes(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm:", err)
	}
	fields := strings.Fields(string(b))
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

// Loading and unloading a model over and over, as the pool does when the
// LRU churns, must give its memory back: with glibc's default mmap
// threshold the freed compute buffers stayed in the heap and RSS grew with
// every reload (Init lowers the threshold).
func TestReloadsReturnMemory(t *testing.T) {
	cfg := testmodel.Tiny(3, "cls")
	quietLlamaLog(t)
	Init("")
	path := filepath.Join(t.TempDir(), "model.gguf")
	if err := testmodel.WriteGGUF(path, testmodel.Generate(cfg), cfg, "f32"); err != nil {
		t.Fatal(err)
	}
	cycle := func() {
		m, err := LoadModel(path, ModelParams{})
		if err != nil {
			t.Fatal(err)
		}
		c, err := m.NewContext(ContextParams{BatchTokens: 4096, Sequences: 64, Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Encode([][]int32{cfg.ExpectedIDs("hello world")}); err != nil {
			t.Fatal(err)
		}
		c.Close()
		m.Close()
	}
	for range 5 { // warm up: one-time allocations and glibc's arenas
		cycle()
	}
	before := residentBytes(t)
	const cycles = 60
	for range cycles {
		cycle()
	}
	grew := residentBytes(t) - before
	t.Logf("RSS grew %.1f MiB over %d reloads", float64(grew)/(1<<20), cycles)
	if grew > 8<<20 {
		t.Errorf("RSS grew %.1f MiB over %d reloads; freed model memory is not returned", float64(grew)/(1<<20), cycles)
	}
}
