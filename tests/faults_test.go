package tests

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// A model's file deleted or truncated under the server: while the model is
// unloaded, the next request that needs it is a 503 naming the cause;
// while it is loaded (the pinned default here), the model keeps serving
// what it loaded; and the server lives on either way.
func TestModelFileDeletedOrTruncated(t *testing.T) {
	dir := t.TempDir()
	if _, err := writeModels(dir, map[string]testmodel.Config{
		"pin": testmodel.Tiny(61, "cls"), "gone": testmodel.Tiny(62, "cls"), "cut": testmodel.Tiny(63, "mean"),
		"pin-cut": testmodel.Tiny(64, "cls"),
	}); err != nil {
		t.Fatal(err)
	}
	catalog := "models:\n  - {name: pin, kind: embedding, file: pin.gguf}\n  - {name: pin-cut, kind: embedding, file: pin-cut.gguf}\n" +
		"  - {name: gone, kind: embedding, file: gone.gguf}\n  - {name: cut, kind: embedding, file: cut.gguf}\n"
	// Keep-alive 0 unloads every model but the pinned defaults after each
	// request, so the next one loads it from disk again.
	sp := serveCatalog(t, true, dir, catalog, "--embedding-model", "pin", "--reranker-model", "", "--keep-alive", "0")
	pinned := embedOnce(t, sp, "pin")
	embedOnce(t, sp, "gone")
	embedOnce(t, sp, "cut")

	// Unloaded: deleted, then truncated.
	if err := os.Remove(filepath.Join(dir, "gone.gguf")); err != nil {
		t.Fatal(err)
	}
	truncate(t, filepath.Join(dir, "cut.gguf"), 0.5)
	for model, cause := range map[string]string{"gone": "no file at", "cut": "truncated"} {
		status, msg, err := tryModel(sp, model, "embedding")
		if err != nil || status != http.StatusServiceUnavailable || !strings.Contains(msg, cause) {
			t.Errorf("%s after its file changed: %d %q (%v); want 503 naming %q", model, status, msg, err, cause)
		}
	}

	// Loaded: the pinned default keeps serving from what it loaded, its
	// file deleted or cut short.
	if err := os.Remove(filepath.Join(dir, "pin.gguf")); err != nil {
		t.Fatal(err)
	}
	if got := embedOnce(t, sp, "pin"); !bytes.Equal(got, pinned) {
		t.Error("the loaded model answers differently after its file was deleted")
	}
	if r, err := http.Get(sp.url + "/health"); err != nil || r.StatusCode != http.StatusOK {
		t.Fatalf("/health: %v %v", r, err)
	}
}

// truncate cuts the file at path to fraction of its size, in place, as an
// interrupted copy over it would.
func truncate(t *testing.T, path string, fraction float64) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, int64(float64(st.Size())*fraction)); err != nil {
		t.Fatal(err)
	}
}

// A loaded model whose file is cut short in place (a copy over it
// interrupted) keeps serving: llama.cpp must not read its weights from the
// file after the load, where the missing pages would kill the process.
func TestModelFileTruncatedWhileLoaded(t *testing.T) {
	dir := t.TempDir()
	if _, err := writeModels(dir, map[string]testmodel.Config{"m": testmodel.Tiny(65, "cls")}); err != nil {
		t.Fatal(err)
	}
	sp := serveCatalog(t, true, dir, "models:\n  - {name: m, kind: embedding, file: m.gguf}\n",
		"--embedding-model", "m", "--reranker-model", "")
	before := embedOnce(t, sp, "m")
	truncate(t, filepath.Join(dir, "m.gguf"), 0.1)
	status, msg, err := tryModel(sp, "m", "embedding")
	if err != nil {
		t.Fatalf("the server died: %v: %s", err, crashCause(sp.stderr.String()))
	}
	if status != http.StatusOK {
		t.Fatalf("status %d %q, want the loaded model to keep serving", status, msg)
	}
	if got := embedOnce(t, sp, "m"); !bytes.Equal(got, before) {
		t.Error("the loaded model answers differently after its file was cut short")
	}
}
