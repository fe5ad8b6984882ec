package backend

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/catalog"
)

// The engine resolves a requested model through the catalog only: a name
// that is a path to a GGUF outside the models dir, even one that exists,
// is an unknown model, as is a look-alike of a catalog name.
func TestRequestedNamesAreNotPaths(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	secret := filepath.Join(outside, "secret.gguf")
	if err := os.WriteFile(secret, []byte("GGUF"), 0o644); err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.New([]byte("models:\n  - {name: m, kind: embedding, repo: org/m}\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	e := New(Config{ModelsDir: dir}, cat, zerolog.Nop())
	defer e.Close()
	for _, name := range []string{"m", "ORG/M"} {
		if entry, err := e.resolve(name, ""); err != nil || entry.Name != "m" {
			t.Fatalf("resolve(%q) = %q, %v; want m", name, entry.Name, err)
		}
	}
	rel, _ := filepath.Rel(dir, strings.TrimSuffix(secret, ".gguf"))
	for _, name := range []string{secret, strings.TrimSuffix(secret, ".gguf"), rel, rel + ".gguf", "../m", "m\x00", "%2e%2e%2fm", `..\m`, "org\u2215m", "ORG/\u039c"} {
		if _, err := e.resolve(name, ""); !errors.Is(err, ErrUnknownModel) {
			t.Errorf("resolve(%q) = %v, want ErrUnknownModel", name, err)
		}
	}
}
