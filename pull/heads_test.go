package pull

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/convert"
	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// A repository with BGE-M3's head files at its root: pull downloads them
// with the checkpoint and the conversion leaves their companion GGUF beside
// the model's, named and pinned by the model's metadata.
func TestPullBringsTheM3Heads(t *testing.T) {
	cfg := testmodel.Tiny(42, "cls")
	cfg.TypeVocab = 1
	src := t.TempDir()
	if err := testmodel.WriteHF(src, testmodel.Generate(cfg), cfg, testmodel.HFOptions{Arch: "XLMRobertaModel", DType: checkpoint.F32, SentenceTransformers: true, Tokenizer: "wordpiece"}); err != nil {
		t.Fatal(err)
	}
	if err := testmodel.WriteM3Heads(src, testmodel.GenerateM3Heads(cfg)); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"onnx/sparse_linear.pt": []byte("not a head")}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = data
	}
	h := &fakeHub{repos: map[string]map[string][]byte{"org/m3": files}}
	p := newPuller(t, h)
	entry := catalog.Entry{Name: "m3", Kind: catalog.KindEmbedding, Source: catalog.Source{Repo: "org/m3", Outtype: "f16"}}
	if err := p.Pull(context.Background(), entry); err != nil {
		t.Fatal(err)
	}
	for _, f := range convert.HeadFiles {
		if h.count(f) != 1 {
			t.Errorf("%s downloaded %d times, want once", f, h.count(f))
		}
	}
	if h.count("onnx/sparse_linear.pt") != 0 {
		t.Error("a head file outside the repository's root was downloaded")
	}
	model := entry.ModelPath(p.ModelsDir)
	meta, err := gguf.ReadMetadata(model)
	if err != nil {
		t.Fatal(err)
	}
	name, _ := meta.Value(keys.HeadsFile)
	sum, _ := meta.Value(keys.HeadsSHA256)
	if name != filepath.Base(convert.HeadsPath(model)) {
		t.Fatalf("%s = %v, want %s", keys.HeadsFile, name, filepath.Base(convert.HeadsPath(model)))
	}
	data, err := os.ReadFile(convert.HeadsPath(model))
	if err != nil {
		t.Fatal(err)
	}
	if got := sha256.Sum256(data); hex.EncodeToString(got[:]) != sum {
		t.Errorf("the heads file's SHA-256 is %x, the model records %v", got, sum)
	}
	heads, err := gguf.ReadMetadata(convert.HeadsPath(model))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]uint64{
		keys.SparseWeight: {uint64(cfg.Hidden), 1}, keys.SparseBias: {1},
		keys.ColBERTWeight: {uint64(cfg.Hidden), uint64(cfg.Hidden)}, keys.ColBERTBias: {uint64(cfg.Hidden)},
	}
	for _, ti := range heads.Tensors {
		if w, ok := want[ti.Name]; !ok || !slices.Equal(w, ti.Ne) || ti.Type != gguf.TensorF32 {
			t.Errorf("tensor %s %v %v unexpected", ti.Name, ti.Ne, ti.Type)
		}
		delete(want, ti.Name)
	}
	if len(want) != 0 {
		t.Errorf("missing head tensors %v", want)
	}
}
