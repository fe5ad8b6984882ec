package catalog

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// Names a client might send to reach a file outside the models dir, or a
// model it did not name. None is a catalog name, so none resolves.
var hostileNames = []string{
	"../bge-m3",
	"../../../../etc/passwd",
	"/etc/passwd",
	"/models/bge-m3.gguf",
	"bge-m3\x00",
	"bge-m3\x00../../etc/passwd",
	"bge-m3.gguf",
	"%2e%2e%2fbge-m3",
	"..%2fbge-m3",
	"%2e%2e/bge-m3",
	`..\bge-m3`,
	`C:\models\bge-m3.gguf`,
	"bge\u2010m3",      // HYPHEN, not HYPHEN-MINUS
	"ｂｇｅ-m3",           // fullwidth letters
	"bge-m3\u200b",     // zero-width space
	"BAAI\u2215bge-m3", // DIVISION SLASH
	"MU-\u212Aindai/Japanese-SimCSE-BERT-large-unsup", // KELVIN SIGN lower-cases to k
	"baai/bge-m3/../bge-m3",
	"./bge-m3",
	".",
	"..",
	strings.Repeat("a", 1<<20),
}

func TestHostileNamesResolveToNothing(t *testing.T) {
	c := mustNew(t, "")
	for _, name := range hostileNames {
		e, err := c.Lookup(name)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("Lookup(%.40q) = %q, %v; want ErrNotFound", name, e.Name, err)
			continue
		}
		// The message goes back to the client and into the log.
		if n := len(err.Error()); n > 300 {
			t.Errorf("Lookup(%.40q): a %d-byte message", name, n)
		}
	}
	// The ASCII-folded repo id still resolves, as the Hub resolves it.
	if e, err := c.Lookup("mu-kindai/japanese-simcse-bert-large-unsup"); err != nil || e.Name == "" {
		t.Errorf("ASCII case-folded repo id: %v", err)
	}
}

// Whatever a valid catalog says, <models-dir>/<name>.gguf and a relative
// file: stay inside the models dir; what would not is refused when the
// catalog loads, naming the entry.
func TestCatalogPathsStayInTheModelsDir(t *testing.T) {
	tests := []struct {
		name, entry string
		problem     string // "" = valid
	}{
		{"plain name", `{name: ok-1.5_b, kind: embedding}`, ""},
		{"sub folder", `{name: m, kind: embedding, file: sub/m.gguf}`, ""},
		{"absolute file", `{name: m, kind: embedding, file: /srv/m.gguf}`, ""},
		{"dot dot name", `{name: "..", kind: embedding}`, "must not be . or .."},
		{"dot name", `{name: ".", kind: embedding}`, "must not be . or .."},
		{"backslash name", `{name: 'a\b', kind: embedding}`, "slashes"},
		{"NUL name", `{name: "a\0b", kind: embedding}`, "control characters"},
		{"newline name", `{name: "a\nb", kind: embedding}`, "control characters"},
		{"long name", `{name: ` + strings.Repeat("a", MaxNameLen+1) + `, kind: embedding}`, "bytes long"},
		{"escaping file", `{name: m, kind: embedding, file: ../m.gguf}`, "leaves the models dir"},
		{"escaping file in a sub folder", `{name: m, kind: embedding, file: sub/../../m.gguf}`, "leaves the models dir"},
		{"NUL file", `{name: m, kind: embedding, file: "m\0.gguf"}`, "NUL"},
		{"repo with dots", `{name: m, kind: embedding, repo: ../m}`, "not a Hugging Face repo id"},
		{"repo too deep", `{name: m, kind: embedding, repo: a/b/c}`, "not a Hugging Face repo id"},
		{"source repo escaping", `{name: m, kind: embedding, source: {repo: "org/.."}}`, "source.repo"},
		{"source repo query", `{name: m, kind: embedding, source: {repo: "org/m?x=1"}}`, "source.repo"},
		{"source file escaping", `{name: m, kind: embedding, source: {repo: org/m, file: ../x.gguf}}`, "source.file"},
		{"source file absolute", `{name: m, kind: embedding, source: {repo: org/m, file: /x.gguf}}`, "source.file"},
		{"legacy repo id", `{name: m, kind: embedding, source: {repo: gpt2, file: sub/m.gguf}}`, ""},
	}
	models := filepath.FromSlash("/srv/models")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, err := Parse([]byte("models:\n  - " + tt.entry + "\n"))
			if tt.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tt.problem) {
					t.Fatalf("err = %v, want one saying %q", err, tt.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			e := entries[0]
			got := e.ModelPath(models)
			if filepath.IsAbs(e.File) {
				if got != e.File {
					t.Errorf("ModelPath = %s, want the absolute file %s", got, e.File)
				}
				return
			}
			if rel, err := filepath.Rel(models, got); err != nil || !filepath.IsLocal(rel) {
				t.Errorf("ModelPath = %s, outside %s", got, models)
			}
		})
	}
}

func TestQuoteName(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes: the cut lands mid-rune
	got := quoteName(long)
	if !strings.HasSuffix(got, "… (200 bytes)") || strings.Contains(got, `\x`) {
		t.Errorf("quoteName = %s", got)
	}
	if got := quoteName("x"); got != `"x"` {
		t.Errorf("quoteName(x) = %s", got)
	}
}
