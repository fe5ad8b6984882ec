package llama

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// TestLoadErrorsAreTheCallersOwn loads a good model and two broken files at
// once, many times: each failure must report its own cause, never the
// other's, and the good load must succeed. llama.cpp logs every cause to
// one process-wide callback, so a shared buffer would mix them up or lose
// them.
func TestLoadErrorsAreTheCallersOwn(t *testing.T) {
	previous := SetLogger(zerolog.Nop()) // the failures are expected
	t.Cleanup(func() { SetLogger(previous) })
	Init("")
	dir := t.TempDir()
	cfg := testmodel.Tiny(17, "cls")
	good := filepath.Join(dir, "good.gguf")
	if err := testmodel.WriteGGUF(good, testmodel.Generate(cfg), cfg, "f32"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.gguf")
	notGGUF := filepath.Join(dir, "not-gguf.gguf")
	if err := os.WriteFile(truncated, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(notGGUF, []byte("this is not a GGUF file"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The causes llama.cpp gives for each broken file.
	const outOfBounds, badMagic = "not within the file bounds", "invalid magic characters"
	broken := map[string]struct{ want, notWant string }{
		truncated: {outOfBounds, badMagic},
		notGGUF:   {badMagic, outOfBounds},
	}

	for range 50 {
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			<-start
			m, err := LoadModel(good, ModelParams{})
			if err != nil {
				t.Errorf("loading the good model: %v", err)
				return
			}
			m.Close()
		})
		for path, cause := range broken {
			wg.Go(func() {
				<-start
				_, err := LoadModel(path, ModelParams{})
				if err == nil {
					t.Errorf("%s loaded", filepath.Base(path))
					return
				}
				if msg := err.Error(); !strings.Contains(msg, cause.want) || strings.Contains(msg, cause.notWant) {
					t.Errorf("%s: error %q; want the cause %q and not %q", filepath.Base(path), msg, cause.want, cause.notWant)
				}
			})
		}
		close(start)
		wg.Wait()
		if t.Failed() {
			return
		}
	}
}
