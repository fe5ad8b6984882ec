package pull

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
	"github.com/rerank-api/rerank-api/hub"
	"github.com/rerank-api/rerank-api/tokenizer/bertjapanese"
)

// Dictionary is a compiled MeCab dictionary published inside an archive.
type Dictionary struct {
	// URL and SHA256 of the archive, a gzipped tar.
	URL, SHA256 string
	// Root is the archive's folder holding the dictionary (sys.dic,
	// matrix.bin, char.bin, unk.dic, dicrc), with a trailing slash.
	Root string
}

// UnidicLite is unidic-lite 1.0.8, the last release (UniDic 2.1.2 with the
// package's edits): what BertJapaneseTokenizer loads for mecab_dic
// "unidic_lite", as cl-tohoku's v2/v3 vocabularies (ruri,
// japanese-reranker) were built. PyPI has only its source distribution, no
// wheel; the compiled dictionary sits in it, so nothing is built here. The
// digest is PyPI's for the file.
var UnidicLite = Dictionary{
	URL:    "https://files.pythonhosted.org/packages/55/2b/8cf7514cb57d028abcef625afa847d60ff1ffbf0049c36b78faa7c35046f/unidic-lite-1.0.8.tar.gz",
	SHA256: "db9d4572d9fdd4d00a97949d4b0741ec480ee05a7e7e2e32f547500dae27b245",
	Root:   "unidic-lite-1.0.8/unidic_lite/dicdir/",
}

// maxDictionaryBytes bounds what an archive may unpack to: unidic-lite is
// about 250 MB, and a corrupt or hostile archive must not fill the disk.
const maxDictionaryBytes = 2 << 30

// missingDictionary returns the directory unidic-lite must be unpacked to
// when the model at path is a BertJapaneseTokenizer model whose tokenizer
// config names unidic-lite and no dictionary is set in its place (the
// catalog's mecab_dicdir, mecab_option's -d) or already pulled; "" when
// nothing is missing.
func (p *Puller) missingDictionary(entry catalog.Entry, path string) string {
	if entry.MecabDicdir != "" {
		return ""
	}
	meta, err := gguf.ReadMetadata(path)
	if err != nil {
		return "" // not a GGUF we can read: loading it will say why
	}
	if class, _ := meta.Value(keys.TokenizerClass); class != "BertJapaneseTokenizer" {
		return ""
	}
	raw, _ := meta.Value(keys.TokenizerConfig)
	s, _ := raw.(string)
	cfg, err := bertjapanese.ParseConfig([]byte(s))
	if err != nil {
		return ""
	}
	if _, err := cfg.Dicdir(bertjapanese.Places{ModelsDir: p.ModelsDir}); err == nil || cfg.MecabDic != "unidic_lite" {
		// Present, or not ours to fetch: loading the model says what to
		// install.
		return ""
	}
	return bertjapanese.UnidicLiteDir(p.ModelsDir)
}

// pullDictionary fetches unidic-lite for a model that needs it.
func (p *Puller) pullDictionary(ctx context.Context, entry catalog.Entry, modelPath string) error {
	dir := p.missingDictionary(entry, modelPath)
	if dir == "" {
		return nil
	}
	d := UnidicLite
	if p.UnidicLite != nil {
		d = *p.UnidicLite
	}
	p.log("%s tokenizes with MeCab and unidic-lite; downloading the dictionary", entry.Name)
	return p.PullDictionary(ctx, d, dir)
}

// PullDictionary downloads d and unpacks its dictionary to dir, atomically:
// dir's parent appears whole, renamed from a temporary folder beside it,
// or not at all. The archive is resumable while the download is cut, and
// deleted once unpacked.
func (p *Puller) PullDictionary(ctx context.Context, d Dictionary, dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "sys.dic")); err == nil {
		return nil
	}
	final := filepath.Dir(dir) // dictionaries/unidic-lite, holding dicdir
	archive := final + ".tar.gz"
	if err := p.Hub.DownloadURL(ctx, d.URL, archive, hub.DownloadOptions{SHA256: d.SHA256, Progress: p.Progress}); err != nil {
		return fmt.Errorf("downloading the MeCab dictionary: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(final), "."+filepath.Base(final)+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // gone after the rename; cleans up a failure
	if err := unpack(archive, d.Root, filepath.Join(tmp, filepath.Base(dir))); err != nil {
		return fmt.Errorf("unpacking %s: %w", archive, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, "sys.dic")); statErr == nil {
			return nil // a concurrent pull got there first
		}
		return fmt.Errorf("installing the MeCab dictionary: %w (remove %s and pull again)", err, final)
	}
	os.Remove(archive)
	return nil
}

// unpack writes the regular files under root in a gzipped tar to dest.
func unpack(archive, root, dest string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(gz)
	var total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		rel, ok := strings.CutPrefix(h.Name, root)
		if !ok || rel == "" || h.Typeflag != tar.TypeReg {
			continue
		}
		if rel != path.Clean(rel) || path.IsAbs(rel) || strings.HasPrefix(rel, "../") {
			return fmt.Errorf("unsafe path %q in the archive", h.Name)
		}
		if total += h.Size; total > maxDictionaryBytes {
			return fmt.Errorf("the dictionary unpacks to more than %d bytes", maxDictionaryBytes)
		}
		if err := writeFile(filepath.Join(dest, filepath.FromSlash(rel)), tr); err != nil {
			return err
		}
	}
	if _, err := os.Stat(filepath.Join(dest, "sys.dic")); err != nil {
		return fmt.Errorf("the archive has no %ssys.dic", root)
	}
	return nil
}

func writeFile(path string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
