package catalog

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/convert/gguf"
)

// builtin is the real models.yaml that embed.go compiles into the binary.
func builtin(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile("../models.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// builtinCount is the number of entries models.yaml lists, one "- name:"
// line each.
func builtinCount(t *testing.T) int {
	return strings.Count(string(builtin(t)), "\n  - name: ")
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "models.yaml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustNew(t *testing.T, userFile string) *Catalog {
	t.Helper()
	c, err := New(builtin(t), userFile)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBuiltinCatalog(t *testing.T) {
	entries, err := Parse(builtin(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := builtinCount(t); len(entries) != want {
		t.Fatalf("got %d entries, want %d", len(entries), want)
	}
	var unsupported []string
	for _, e := range entries {
		if !e.Supported() {
			unsupported = append(unsupported, e.Name)
			if e.Reason == "" {
				t.Errorf("%s: unsupported without a reason", e.Name)
			}
			continue
		}
		if e.Repo == "" || e.Kind == "" || e.Pooling == "" {
			t.Errorf("%s: supported entry needs repo, kind and pooling: %+v", e.Name, e)
		}
		// pull downloads from Source: a published GGUF, or the checkpoint
		// converted to an output type.
		_, badType := gguf.ParseFileType(e.Source.Outtype)
		if e.Source.Repo != e.Repo || (e.Source.File == "" && badType != nil) {
			t.Errorf("%s: source = %+v, want repo %s and a GGUF file or a conversion type", e.Name, e.Source, e.Repo)
		}
		if (e.Kind == KindRerank) != (e.Pooling == PoolingRank) {
			t.Errorf("%s: kind %s with pooling %s", e.Name, e.Kind, e.Pooling)
		}
	}
	want := []string{"gte-multilingual-reranker", "mxbai-rerank-large", "cohere-rerank-multilingual", "nv-embed-v2"}
	if !reflect.DeepEqual(unsupported, want) {
		t.Errorf("unsupported = %v, want %v", unsupported, want)
	}
}

// The values other packages depend on: defaults, prefixes, licences shown to users.
func TestBuiltinValues(t *testing.T) {
	c := mustNew(t, "")
	tests := []struct {
		name  string
		check func(Entry) bool
	}{
		{"bge-m3", func(e Entry) bool {
			return e.Kind == KindEmbedding && e.Pooling == PoolingCLS && e.Dimensions == 1024 && e.MaxLength == 8192
		}},
		{"jina-reranker-v2-multilingual", func(e Entry) bool { return e.Kind == KindRerank && e.License == "CC-BY-NC-4.0" }},
		{"nv-embed-v2", func(e Entry) bool { return e.License == "CC-BY-NC-4.0" }},
		{"ruri-base", func(e Entry) bool { return e.QueryPrefix == "クエリ: " && e.DocumentPrefix == "文章: " }},
		{"ruri-large", func(e Entry) bool { return e.QueryPrefix == "クエリ: " && e.DocumentPrefix == "文章: " }},
		{"glucose-ja-v2", func(e Entry) bool { return e.QueryPrefix == "query: " && e.DocumentPrefix == "passage: " }},
		{"e5-mistral-7b", func(e Entry) bool {
			return e.Pooling == PoolingLast && strings.HasPrefix(e.QueryPrefix, "Instruct: ") &&
				strings.HasSuffix(e.QueryPrefix, "\nQuery: ") && e.DocumentPrefix == ""
		}},
		{"qwen3-embedding-0.6b", func(e Entry) bool {
			// No space after "Query:", as the card's get_detailed_instruct.
			return e.Pooling == PoolingLast && strings.HasSuffix(e.QueryPrefix, "\nQuery:") && e.License == "Apache-2.0" &&
				e.Dimensions == 1024 && e.Matryoshka != nil && *e.Matryoshka && e.MinDimensions == 32
		}},
		{"qwen3-reranker-8b", func(e Entry) bool { return e.Kind == KindRerank && e.License == "Apache-2.0" }},
		{"mxbai-embed-large", func(e Entry) bool {
			return e.Pooling == PoolingCLS && e.QueryPrefix == "Represent this sentence for searching relevant passages: "
		}},
	}
	for _, tt := range tests {
		e, err := c.Lookup(tt.name)
		if err != nil {
			t.Fatal(err)
		}
		if !tt.check(e) {
			t.Errorf("%s: unexpected entry %+v", tt.name, e)
		}
	}
}

func TestLookup(t *testing.T) {
	c := mustNew(t, "")
	tests := []struct {
		query, want string // want "" = not found
	}{
		{"bge-m3", "bge-m3"},
		{"BAAI/bge-m3", "bge-m3"},
		{"baai/BGE-M3", "bge-m3"}, // the Hub treats ids case-insensitively
		{"jinaai/jina-reranker-v2-base-multilingual", "jina-reranker-v2-multilingual"},
		{"nv-embed-v2", "nv-embed-v2"}, // unsupported models are still found, to explain why
		{"BGE-M3", ""},                 // short names are exact
		{"no-such-model", ""},
		{"", ""},
	}
	for _, tt := range tests {
		e, err := c.Lookup(tt.query)
		if tt.want == "" {
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("Lookup(%q) error = %v, want ErrNotFound", tt.query, err)
			}
			continue
		}
		if err != nil || e.Name != tt.want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", tt.query, e.Name, err, tt.want)
		}
	}
	_, err := c.Lookup("x")
	if want := `model "x" is not in the catalog; see GET /models or --models-config`; err.Error() != want {
		t.Errorf("message = %q, want %q", err, want)
	}
}

func TestUserFile(t *testing.T) {
	c := mustNew(t, "testdata/user-models.yaml")
	entries := c.Entries()
	if want := builtinCount(t) + 1; len(entries) != want {
		t.Fatalf("got %d entries, want %d built-in + 1 added", len(entries), want-1)
	}
	if last := entries[len(entries)-1].Name; last != "my-model" {
		t.Errorf("last entry = %s, want the user's addition my-model", last)
	}
	builtins, err := Parse(builtin(t))
	if err != nil {
		t.Fatal(err)
	}
	at := slices.IndexFunc(builtins, func(e Entry) bool { return e.Name == "bge-m3" })
	if at < 0 || entries[at].Name != "bge-m3" {
		t.Errorf("entry %d = %s; an override must keep the built-in position", at, entries[max(at, 0)].Name)
	}

	mine, err := c.Lookup("my-model")
	if err != nil {
		t.Fatal(err)
	}
	if !mine.Supported() || !mine.ShouldNormalize() || mine.Pooling != "" {
		t.Errorf("minimum entry: %+v", mine)
	}
	if got, want := mine.ModelPath("/models"), filepath.Join("/models", "my-model.gguf"); got != want {
		t.Errorf("ModelPath = %s, want %s", got, want)
	}

	bge, _ := c.Lookup("BAAI/bge-m3")
	if bge.File != "/srv/gguf/bge-m3-q8_0.gguf" || bge.ModelPath("/models") != bge.File {
		t.Errorf("override file: %+v", bge)
	}
	if bge.Pooling != PoolingCLS || bge.MaxLength != 8192 || bge.Kind != KindEmbedding || bge.Source.Repo != "BAAI/bge-m3" {
		t.Errorf("override lost built-in fields: %+v", bge)
	}

	nv, _ := c.Lookup("nv-embed-v2")
	if !nv.Supported() || nv.Reason != "" || nv.Pooling != PoolingMean || nv.License != "CC-BY-NC-4.0" {
		t.Errorf("re-enabled override: %+v", nv)
	}
}

func TestModelPath(t *testing.T) {
	abs := filepath.Join(string(filepath.Separator), "data", "x.gguf")
	tests := []struct {
		file, want string
	}{
		{"", filepath.Join("/models", "m.gguf")},
		{"x.gguf", filepath.Join("/models", "x.gguf")},
		{"sub/x.gguf", filepath.Join("/models", "sub", "x.gguf")},
		{abs, abs},
	}
	for _, tt := range tests {
		e := Entry{Name: "m", File: tt.file}
		if got := e.ModelPath("/models"); got != tt.want {
			t.Errorf("ModelPath with file %q = %s, want %s", tt.file, got, tt.want)
		}
	}
}

func TestShouldNormalize(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		kind      Kind
		normalize *bool
		want      bool
	}{
		{KindEmbedding, nil, true},
		{KindRerank, nil, false},
		{KindEmbedding, &no, false},
		{KindRerank, &yes, true},
	}
	for _, tt := range tests {
		if got := (Entry{Kind: tt.kind, Normalize: tt.normalize}).ShouldNormalize(); got != tt.want {
			t.Errorf("%s normalize=%v: got %v", tt.kind, tt.normalize, got)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"duplicate name", `models: [{name: a, kind: embedding}, {name: a, kind: rerank}]`, []string{`model "a"`, "duplicate"}},
		{"bad kind", `models: [{name: a, kind: classifier}]`, []string{`model "a"`, `kind "classifier"`}},
		{"missing kind", `models: [{name: a}]`, []string{`model "a"`, "kind is required"}},
		{"unsupported without reason", `models: [{name: a, kind: rerank, status: unsupported}]`, []string{`model "a"`, "reason"}},
		{"bad status", `models: [{name: a, kind: rerank, status: maybe}]`, []string{`model "a"`, `status "maybe"`}},
		{"bad pooling", `models: [{name: a, kind: embedding, pooling: max}]`, []string{`model "a"`, `pooling "max"`}},
		{"rank on embedding", `models: [{name: a, kind: embedding, pooling: rank}]`, []string{`model "a"`, "pooling rank"}},
		{"cls on rerank", `models: [{name: a, kind: rerank, pooling: cls}]`, []string{`model "a"`, "want rank"}},
		{"missing name", `models: [{kind: embedding}]`, []string{"models[0]", "name is required"}},
		{"slash in name", `models: [{name: org/a, kind: embedding}]`, []string{`model "org/a"`, "slashes"}},
		{"same repo twice", `models: [{name: a, repo: O/R, kind: embedding}, {name: b, repo: o/r, kind: embedding}]`, []string{`model "b"`, `model "a"`}},
		{"misspelt field", `models: [{name: a, kind: embedding, flie: a.gguf}]`, []string{"flie"}},
		{"two problems", `models: [{name: a, kind: x}, {name: b, kind: y}]`, []string{`model "a"`, `model "b"`}},
		{"negative relevant_label", `models: [{name: a, kind: rerank, relevant_label: -1}]`, []string{`model "a"`, "relevant_label"}},
		{"relevant_label on embedding", `models: [{name: a, kind: embedding, relevant_label: 1}]`, []string{`model "a"`, "relevant_label"}},
		{"matryoshka on a reranker", `models: [{name: a, kind: rerank, matryoshka: true}]`, []string{`model "a"`, "matryoshka"}},
		{"min_dimensions above dimensions", `models: [{name: a, kind: embedding, dimensions: 64, min_dimensions: 128}]`, []string{`model "a"`, "min_dimensions"}},
		{"kv_cache_type", `models: [{name: a, kind: embedding, kv_cache_type: q8_0}]`, []string{`model "a"`, "kv_cache_type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := New(builtin(t), missing)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing user file: %v", err)
	}

	tests := []struct {
		name, yaml string
		want       string
	}{
		{"invalid new entry", `models: [{name: mine, kind: embedding, status: unsupported}]`, `model "mine"`},
		{"override breaks validation", `models: [{name: bge-m3, kind: rerank}]`, `model "bge-m3"`},
		{"duplicate within user file", `models: [{name: mine, kind: embedding}, {name: mine, kind: embedding}]`, "duplicate"},
		{"duplicate override", `models: [{name: bge-m3, file: a.gguf}, {name: bge-m3, file: b.gguf}]`, "duplicate"},
		{"new name, built-in repo", `models: [{name: my-bge, repo: BAAI/bge-m3, kind: embedding}]`, `already used by model "bge-m3"`},
		{"not yaml", `models: [`, "models config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.yaml)
			_, err := New(builtin(t), path)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error = %v, want it to name %q and the file", err, tt.want)
			}
		})
	}

	if _, err := New([]byte(`models: [{name: a}]`), ""); err == nil || !strings.Contains(err.Error(), "built-in") {
		t.Errorf("invalid built-in: %v", err)
	}
}

func TestEmptyUserFile(t *testing.T) {
	c := mustNew(t, writeFile(t, "# nothing yet\n"))
	if n, want := len(c.Entries()), builtinCount(t); n != want {
		t.Errorf("got %d entries, want the %d built-ins", n, want)
	}
}

// Callers get copies: editing them must not change the shared catalog.
func TestImmutable(t *testing.T) {
	c := mustNew(t, "")
	e, _ := c.Lookup("ruri-base")
	e.Languages[0] = "xx"
	e.QueryPrefix = "changed"
	all := c.Entries()
	all[0].Name = "changed"
	all[0].Languages[0] = "xx"

	again, _ := c.Lookup("ruri-base")
	first := c.Entries()[0]
	if again.Languages[0] != "ja" || again.QueryPrefix != "クエリ: " || first.Name == "changed" || first.Languages[0] != "ja" {
		t.Error("catalog changed through a returned entry")
	}
}

// relevant_label is a pointer because label 0 is a valid choice; an
// override that leaves it out keeps the built-in's.
func TestRelevantLabel(t *testing.T) {
	entries, err := Parse([]byte(`models: [{name: nli, kind: rerank, relevant_label: 0}, {name: plain, kind: rerank}]`))
	if err != nil {
		t.Fatal(err)
	}
	if entries[0].RelevantLabel == nil || *entries[0].RelevantLabel != 0 || entries[1].RelevantLabel != nil {
		t.Errorf("relevant_label: %v and %v, want 0 and nil", entries[0].RelevantLabel, entries[1].RelevantLabel)
	}
	merged := overlay(entries[0], Entry{Name: "nli", File: "mine.gguf"})
	if merged.RelevantLabel == nil || *merged.RelevantLabel != 0 {
		t.Error("an override lost the built-in relevant_label")
	}
	copied := entries[0].clone()
	*copied.RelevantLabel = 2
	if *entries[0].RelevantLabel != 0 {
		t.Error("clone shares relevant_label")
	}
}

// outputs names what an embedding model serves beyond dense vectors; the
// built-in bge-m3 declares BGE-M3's three, a user override keeps them, and
// a misspelt or misplaced output is refused.
func TestOutputs(t *testing.T) {
	m3, err := mustNew(t, "").Lookup("bge-m3")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m3.Outputs, []string{OutputDense, OutputSparse, OutputColBERT}) {
		t.Errorf("bge-m3 outputs %v", m3.Outputs)
	}
	over := mustNew(t, writeFile(t, "models: [{name: bge-m3, max_length: 512}]"))
	if e, _ := over.Lookup("bge-m3"); len(e.Outputs) != 3 {
		t.Errorf("an override lost the outputs: %v", e.Outputs)
	}
	for _, bad := range []string{
		`models: [{name: a, kind: embedding, outputs: [splade]}]`,
		`models: [{name: a, kind: rerank, outputs: [sparse]}]`,
	} {
		if _, err := Parse([]byte(bad)); err == nil || !strings.Contains(err.Error(), "outputs") {
			t.Errorf("%s: error %v, want one about outputs", bad, err)
		}
	}
}
