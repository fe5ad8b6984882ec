package pull

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
	"github.com/rerank-api/rerank-api/tokenizer/bertjapanese"
)

// fakeDictionaryArchive is a gzipped tar laid out like unidic-lite's
// sdist: the dictionary under UnidicLite.Root, and files around it that
// must not be unpacked.
func fakeDictionaryArchive(t *testing.T, files map[string]string) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// japaneseGGUF is the metadata of a converted BertJapaneseTokenizer model
// (no tensors: pull reads only the header).
func japaneseGGUF(t *testing.T, mecabDic string) []byte {
	w := gguf.NewWriter()
	w.AddKV("general.architecture", "bert")
	w.AddKV(keys.TokenizerClass, "BertJapaneseTokenizer")
	w.AddKV(keys.TokenizerConfig, `{"tokenizer_class": "BertJapaneseTokenizer", "word_tokenizer_type": "mecab", "mecab_kwargs": {"mecab_dic": "`+mecabDic+`"}}`)
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestPullFetchesUnidicLiteForJapaneseModels(t *testing.T) {
	root := UnidicLite.Root
	archive := fakeDictionaryArchive(t, map[string]string{
		root + "sys.dic": "system dictionary", root + "matrix.bin": "costs", root + "dicrc": "; rc",
		"unidic-lite-1.0.8/setup.py": "outside the dictionary",
	})
	var gets atomic.Int32
	pypi := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		http.ServeContent(w, r, "unidic-lite.tar.gz", time.Unix(0, 0), bytes.NewReader(archive))
	}))
	defer pypi.Close()
	sum := sha256.Sum256(archive)

	h := &fakeHub{repos: map[string]map[string][]byte{"org/ruri-GGUF": {
		"ruri.gguf": japaneseGGUF(t, "unidic_lite"), "ipa.gguf": japaneseGGUF(t, "ipadic"),
	}}}
	p := newPuller(t, h)
	p.UnidicLite = &Dictionary{URL: pypi.URL + "/unidic-lite-1.0.8.tar.gz", SHA256: hex.EncodeToString(sum[:]), Root: root}
	entry := catalog.Entry{Name: "ruri", Kind: catalog.KindEmbedding, Source: catalog.Source{Repo: "org/ruri-GGUF", File: "ruri.gguf"}}
	if err := p.Pull(context.Background(), entry); err != nil {
		t.Fatal(err)
	}
	dir := bertjapanese.UnidicLiteDir(p.ModelsDir)
	for name, want := range map[string]string{"sys.dic": "system dictionary", "matrix.bin": "costs", "dicrc": "; rc"} {
		if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(got) != want {
			t.Errorf("%s: %q, %v", name, got, err)
		}
	}
	left, _ := os.ReadDir(filepath.Dir(filepath.Dir(dir)))
	if len(left) != 1 || left[0].Name() != "unidic-lite" {
		t.Errorf("dictionaries/ holds %v; want only unidic-lite (no archive, no temporary folder)", left)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "setup.py")); err == nil {
		t.Error("a file outside the dictionary's folder was unpacked")
	}

	// Pulled once: a second pull, or another model on the same
	// dictionary, downloads nothing.
	if err := p.Pull(context.Background(), entry); err != nil || gets.Load() != 1 {
		t.Errorf("second pull: %v, %d archive downloads", err, gets.Load())
	}
	// An IPAdic model, or an entry naming its own dictionary, needs nothing.
	for _, e := range []catalog.Entry{
		{Name: "ipa", Kind: catalog.KindEmbedding, Source: catalog.Source{Repo: "org/ruri-GGUF", File: "ipa.gguf"}},
		{Name: "own", Kind: catalog.KindEmbedding, MecabDicdir: "/somewhere", Source: catalog.Source{Repo: "org/ruri-GGUF", File: "ruri.gguf"}},
	} {
		q := newPuller(t, h)
		q.UnidicLite = p.UnidicLite
		if err := q.Pull(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(bertjapanese.UnidicLiteDir(q.ModelsDir)); err == nil {
			t.Errorf("%s: unidic-lite was pulled", e.Name)
		}
	}
	if gets.Load() != 1 {
		t.Errorf("%d archive downloads, want 1", gets.Load())
	}
}

func TestPullDictionaryRefusesBadArchives(t *testing.T) {
	root := UnidicLite.Root
	for name, files := range map[string]map[string]string{
		"no sys.dic":  {root + "dicrc": "x"},
		"escaping":    {root + "sys.dic": "x", root + "../../../../evil": "x"},
		"wrong place": {"other/dicdir/sys.dic": "x"},
	} {
		t.Run(name, func(t *testing.T) {
			archive := fakeDictionaryArchive(t, files)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.ServeContent(w, r, "a.tar.gz", time.Unix(0, 0), bytes.NewReader(archive))
			}))
			defer srv.Close()
			sum := sha256.Sum256(archive)
			p := newPuller(t, &fakeHub{})
			dir := bertjapanese.UnidicLiteDir(p.ModelsDir)
			if err := p.PullDictionary(context.Background(), Dictionary{URL: srv.URL, SHA256: hex.EncodeToString(sum[:]), Root: root}, dir); err == nil {
				t.Fatal("no error")
			}
			if _, err := os.Stat(filepath.Dir(dir)); err == nil {
				t.Error("a broken dictionary was installed")
			}
			if _, err := os.Stat(filepath.Join(p.ModelsDir, "evil")); err == nil {
				t.Error("a file was written outside the dictionary")
			}
		})
	}
}
