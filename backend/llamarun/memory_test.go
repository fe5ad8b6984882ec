package llamarun_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/internal/bytesize"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// The pool books what a load really takes for a model whose catalog entry
// says only name, kind and file, and whose GGUF declares an 8192-token
// trained context: the booking, made before the load from the GGUF's
// header, is compared with the growth of the process's resident memory
// across the load and one encode at full capacity (one 8192-token input),
// which touches every page of the compute buffers llama.cpp reserved; and
// likewise for the token context of /embed_all, made on its first request.
//
// Measured on the tiny model (hidden 64, 4 heads, one worker), x86-64:
// with flash attention 546 MiB booked for 401 MiB of growth (1.36×), most
// of it the attention mask; without, 1570 MiB for 1295 MiB (1.21×), most of
// it the four heads' scores. The bounds are the booking's purpose, never
// less than the growth, and 2×, above which a budget turns away models
// that would fit. Buffers over glibc's mmap threshold come from fresh
// mappings, so memory freed by earlier tests does not hide the growth.
func TestSizeBooksWhatLoadAllocates(t *testing.T) {
	const trained = 8192
	dir := t.TempDir()
	cfg := testmodel.Tiny(1, "cls")
	cfg.MaxPositions = trained
	cfg.Layers = 1 // layers share the compute buffers: one costs the same memory and half the time
	if err := testmodel.WriteGGUF(filepath.Join(dir, "long.gguf"), testmodel.Generate(cfg), cfg, "f32"); err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.New([]byte(`models: [{name: long, kind: embedding, file: long.gguf}]`), "")
	if err != nil {
		t.Fatal(err)
	}
	rt := llamaRuntime(t)
	input := []backend.Input{{Text: strings.Repeat("dog ", trained)}} // truncated to the trained context
	for _, flash := range []bool{true, false} {
		t.Run(fmt.Sprintf("flash=%v", flash), func(t *testing.T) {
			e := backend.New(backend.Config{Runtime: rt, ModelsDir: dir, Workers: 1, Threads: 2, FlashAttention: flash, BudgetBytes: 8 << 30, KeepAlive: -1}, cat, zerolog.Nop())
			defer e.Close()
			before := residentBytes(t)
			res, err := e.Embed(context.Background(), backend.EmbedRequest{Model: "long", Inputs: input, Truncate: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.PromptTokens != trained {
				t.Fatalf("encoded %d tokens, want the full capacity %d", res.PromptTokens, trained)
			}
			after := residentBytes(t)
			if after <= before {
				t.Fatalf("resident memory did not grow (%s before, %s after)", bytesize.Format(before), bytesize.Format(after))
			}
			grown := after - before
			booked := e.MemoryUsed()
			ratio := float64(booked) / float64(grown)
			t.Logf("booked %s, resident memory grew %s (%.2f×)", bytesize.Format(booked), bytesize.Format(grown), ratio)
			if ratio < 1 || ratio > 2 {
				t.Errorf("booked %s for %s of growth (%.2f×), want 1× to 2×", bytesize.Format(booked), bytesize.Format(grown), ratio)
			}

			// The token context /embed_all makes on first use books its
			// growth the same way, output buffer included. Its buffers
			// have a worker's shape, so one setting checks it; flash
			// attention's 8192-token encode is the slow one on a CPU.
			if flash {
				return
			}
			before = residentBytes(t)
			tokens, err := e.EmbedAll(context.Background(), backend.EmbedRequest{Model: "long", Inputs: input, Truncate: true})
			if err != nil {
				t.Fatal(err)
			}
			grown = residentBytes(t) - before
			booked = e.MemoryUsed() - booked
			ratio = float64(booked) / float64(grown)
			t.Logf("token context: booked %s, resident memory grew %s (%.2f×)", bytesize.Format(booked), bytesize.Format(grown), ratio)
			if len(tokens.Vectors[0]) != trained || ratio < 1 || ratio > 2 {
				t.Errorf("token context: %d token vectors; booked %s for %s of growth (%.2f×), want 1× to 2×",
					len(tokens.Vectors[0]), bytesize.Format(booked), bytesize.Format(grown), ratio)
			}
		})
	}
}

// residentBytes is the process's resident set (Linux), after the Go
// runtime has returned what it can to the system.
func residentBytes(t testing.TB) uint64 {
	debug.FreeOSMemory()
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("resident memory is read from /proc (Linux): %v", err)
	}
	fields := strings.Fields(string(raw))
	if len(fields) < 2 {
		t.Fatalf("/proc/self/statm: %q", raw)
	}
	pages, err := strconv.ParseUint(fields[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * uint64(os.Getpagesize())
}
