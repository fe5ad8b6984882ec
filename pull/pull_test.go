package pull

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/hub"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

var fixedTime = time.Unix(1_700_000_000, 0)

// fakeHub serves repositories from memory in the hub's URL layout and
// counts downloads per file.
type fakeHub struct {
	repos     map[string]map[string][]byte // repo -> path -> content
	downloads sync.Map                     // path -> *atomic.Int32
}

func (h *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/api/models/"); ok {
		repo, _, _ := strings.Cut(rest, "/revision/")
		files, ok := h.repos[repo]
		if !ok {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		type sibling struct {
			RFilename string `json:"rfilename"`
		}
		var list []sibling
		for p := range files {
			list = append(list, sibling{p})
		}
		json.NewEncoder(w).Encode(map[string]any{"sha": "0123456789abcdef", "siblings": list})
		return
	}
	for repo, files := range h.repos {
		if rest, ok := strings.CutPrefix(r.URL.Path, "/"+repo+"/resolve/"); ok {
			_, path, _ := strings.Cut(rest, "/")
			data, ok := files[path]
			if !ok {
				http.Error(w, "not found", http.StatusNotFound)
				return
			}
			if r.Method == http.MethodGet {
				n, _ := h.downloads.LoadOrStore(path, &atomic.Int32{})
				n.(*atomic.Int32).Add(1)
			}
			http.ServeContent(w, r, path, fixedTime, bytes.NewReader(data))
			return
		}
	}
	http.Error(w, "not found", http.StatusNotFound)
}

func (h *fakeHub) count(path string) int32 {
	n, ok := h.downloads.Load(path)
	if !ok {
		return 0
	}
	return n.(*atomic.Int32).Load()
}

func newPuller(t *testing.T, h *fakeHub) *Puller {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &Puller{Hub: hub.NewClient(srv.URL, "", nil), ModelsDir: t.TempDir()}
}

func TestPullPublishedGGUFOnceForConcurrentCallers(t *testing.T) {
	model := bytes.Repeat([]byte("GGUF-bytes"), 50000)
	sum := sha256.Sum256(model)
	h := &fakeHub{repos: map[string]map[string][]byte{"org/model-GGUF": {"model-q8_0.gguf": model, "README.md": []byte("hi")}}}
	p := newPuller(t, h)
	entry := catalog.Entry{Name: "m", Kind: catalog.KindEmbedding, Source: catalog.Source{Repo: "org/model-GGUF", File: "model-q8_0.gguf", SHA256: hex.EncodeToString(sum[:])}}

	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- p.Pull(context.Background(), entry) }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(entry.ModelPath(p.ModelsDir))
	if err != nil || !bytes.Equal(got, model) {
		t.Fatalf("model file wrong: %v", err)
	}
	if n := h.count("model-q8_0.gguf"); n != 1 {
		t.Fatalf("%d downloads of the model, want 1", n)
	}
	if err := p.Pull(context.Background(), entry); err != nil || h.count("model-q8_0.gguf") != 1 {
		t.Fatalf("a second pull of a present model downloaded again (%v)", err)
	}
}

func TestPullWrongChecksumLeavesNoModel(t *testing.T) {
	h := &fakeHub{repos: map[string]map[string][]byte{"org/m": {"m.gguf": []byte("tampered")}}}
	p := newPuller(t, h)
	entry := catalog.Entry{Name: "m", Source: catalog.Source{Repo: "org/m", File: "m.gguf", SHA256: strings.Repeat("ab", 32)}}
	if err := p.Pull(context.Background(), entry); err == nil {
		t.Fatal("a checksum mismatch was accepted")
	}
	if _, err := os.Stat(entry.ModelPath(p.ModelsDir)); err == nil {
		t.Fatal("a model with a bad checksum was left in place")
	}
}

// A catalog recipe without a GGUF file downloads the checkpoint and
// converts it; only the files a conversion reads are fetched.
func TestPullConvertsCheckpoint(t *testing.T) {
	h := &fakeHub{repos: map[string]map[string][]byte{"org/encoder": checkpointRepo(t)}}
	p := newPuller(t, h)
	entry := catalog.Entry{Name: "encoder", Kind: catalog.KindEmbedding, Source: catalog.Source{Repo: "org/encoder", Outtype: "f16"}}
	if err := p.Pull(context.Background(), entry); err != nil {
		t.Fatal(err)
	}
	meta, err := gguf.ReadMetadata(entry.ModelPath(p.ModelsDir))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := meta.Value("bert.pooling_type"); v != uint32(1) {
		t.Errorf("pooling_type %v, want 1 (mean, from 1_Pooling)", v)
	}
	if h.count("onnx/model.onnx") != 0 || h.count("pytorch_model.bin") != 0 {
		t.Error("files the conversion does not read were downloaded")
	}
}

// checkpointRepo is a tiny BERT embedder's Hugging Face repository (f16
// safetensors, sentence-transformers mean pooling) with files a conversion
// does not read beside it.
func checkpointRepo(t *testing.T) map[string][]byte {
	t.Helper()
	cfg := testmodel.Tiny(41, "mean")
	src := t.TempDir()
	if err := testmodel.WriteHF(src, testmodel.Generate(cfg), cfg, testmodel.HFOptions{Arch: "BertModel", DType: checkpoint.F16, SentenceTransformers: true, Tokenizer: "wordpiece"}); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"onnx/model.onnx": []byte("not needed"), "pytorch_model.bin": []byte("not needed either")}
	err := filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		data, err := os.ReadFile(path)
		files[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestChooseGGUF(t *testing.T) {
	h := &fakeHub{repos: map[string]map[string][]byte{
		"org/one":  {"a.gguf": nil, "README.md": nil},
		"org/many": {"a-q8_0.gguf": nil, "a-f16.gguf": nil},
		"org/none": {"config.json": nil},
	}}
	p := newPuller(t, h)
	if f, err := p.ChooseGGUF(context.Background(), "org/one", ""); err != nil || f != "a.gguf" {
		t.Errorf("one: %q %v", f, err)
	}
	if _, err := p.ChooseGGUF(context.Background(), "org/many", ""); err == nil || !strings.Contains(err.Error(), "a-f16.gguf") {
		t.Errorf("many: want an error listing the files, got %v", err)
	}
	if f, err := p.ChooseGGUF(context.Background(), "org/none", ""); err != nil || f != "" {
		t.Errorf("none: %q %v", f, err)
	}
}
