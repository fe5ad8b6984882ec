package tests

import (
	"encoding/binary"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// A model whose weights make it compute NaN (here its embedding layer
// norm) answers each route with a 500 that says so, never a NaN in the
// JSON, and each failure counts under te_request_failure{err="non_finite"}.
func TestNonFiniteModelOutputIsA500(t *testing.T) {
	dir := t.TempDir()
	if _, err := writeModels(dir, map[string]testmodel.Config{"nan": testmodel.Tiny(71, "cls"), "nan-rank": testmodel.Tiny(72, "rank")}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"nan", "nan-rank"} {
		poisonTensor(t, filepath.Join(dir, name+".gguf"), "token_embd_norm.weight")
	}
	sp := serveCatalog(t, true, dir, "models:\n  - {name: nan, kind: embedding, file: nan.gguf}\n  - {name: nan-rank, kind: rerank, pooling: rank, file: nan-rank.gguf}\n",
		"--embedding-model", "nan", "--reranker-model", "nan-rank")
	for _, c := range []struct{ path, model, kind string }{
		{"/v1/embeddings", "nan", "embedding"}, {"/v1/rerank", "nan-rank", "rerank"},
	} {
		status, msg, err := tryModel(sp, c.model, c.kind)
		if err != nil {
			t.Fatal(err)
		}
		if status != http.StatusInternalServerError || !strings.Contains(msg, "NaN or Inf") {
			t.Errorf("%s: %d %q, want 500 naming NaN or Inf", c.path, status, msg)
		}
	}
	raw := sp.send(t, http.MethodPost, "/embed", "application/json", []byte(`{"inputs": "hello"}`))
	if raw.status != http.StatusInternalServerError || !strings.Contains(string(raw.body), `"error":"the model produced a non-finite value (NaN or Inf)`) {
		t.Errorf("/embed: %d %s, want TEI's error naming NaN or Inf", raw.status, raw.body)
	}
	families := scrapeMetrics(t, sp)
	if got := metricTotal(families, "te_request_failure", map[string]string{"err": "non_finite"}); got != 3 {
		t.Errorf("te_request_failure{err=non_finite} = %v, want 3", got)
	}
}

// poisonTensor overwrites an f32 tensor's data in a GGUF with NaN.
func poisonTensor(t *testing.T, path, name string) {
	t.Helper()
	meta, err := gguf.ReadMetadata(path)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range meta.Tensors {
		if ti.Name != name || ti.Type != gguf.TensorF32 {
			continue
		}
		at := meta.DataOffset + int64(ti.Offset)
		for i := range ti.Ne[0] {
			binary.LittleEndian.PutUint32(raw[at+int64(i)*4:], math.Float32bits(float32(math.NaN())))
		}
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("%s has no f32 tensor %s", path, name)
}
