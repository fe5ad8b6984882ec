package catalog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzNew feeds a user models file (--models-config) merged over the real
// built-in catalog, and a model name a request might send: New must refuse
// the file or give a catalog in which every entry looks itself up, Lookup
// of any name must not panic, and no entry's GGUF path may leave the
// models dir unless the file names an absolute path.
func FuzzNew(f *testing.F) {
	user, err := os.ReadFile(filepath.Join("testdata", "user-models.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(user, "bge-m3")
	f.Add(user, "BAAI/BGE-M3")
	f.Add([]byte(`models: [{name: a, kind: embedding, flie: a.gguf}]`), "a")
	f.Add([]byte(`models: [{name: a, kind: rerank, relevant_label: 1, file: "sub/../x.gguf"}]`), "../a")
	f.Add([]byte("models:\n  - &a {name: a, kind: embedding}\n  - *a\n"), "a\x00")
	f.Add([]byte(""), "")
	data, err := os.ReadFile(filepath.Join("..", "models.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	// Parsed once: the built-ins are the same for every input, and
	// parsing them took most of each run.
	builtin, err := Parse(data)
	if err != nil {
		f.Fatal(err)
	}
	const modelsDir = "/models"
	f.Fuzz(func(t *testing.T, user []byte, name string) {
		c, err := withUserFile(builtin, "models.yaml", user)
		if err != nil {
			return
		}
		for _, e := range c.Entries() {
			got, err := c.Lookup(e.Name)
			if err != nil || got.Name != e.Name {
				t.Fatalf("Lookup(%q) = %q, %v", e.Name, got.Name, err)
			}
			inside(t, e, modelsDir)
		}
		if e, err := c.Lookup(name); err == nil {
			inside(t, e, modelsDir)
		}
	})
}

// inside fails t when e's GGUF path leaves modelsDir without the catalog
// saying so with an absolute file:.
func inside(t *testing.T, e Entry, modelsDir string) {
	t.Helper()
	if filepath.IsAbs(e.File) {
		return
	}
	p := e.ModelPath(modelsDir)
	if !strings.HasPrefix(p, modelsDir+string(filepath.Separator)) {
		t.Fatalf("entry %q (file %q) resolves to %s, outside %s", e.Name, e.File, p, modelsDir)
	}
}
