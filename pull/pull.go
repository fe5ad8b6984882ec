package pull

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sync/singleflight"

	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/convert"
	"github.com/rerank-api/rerank-api/hub"
)

// Puller downloads (and converts) models into ModelsDir.
type Puller struct {
	Hub       *hub.Client
	ModelsDir string
	// Quantize is llama.cpp's quantizer, for catalog recipes whose outtype
	// is quantized.
	Quantize func(in, out, outType string) error
	// Progress receives download progress; Log receives one-line notes
	// (conversion steps, warnings).
	Progress hub.ProgressFunc
	Log      func(msg string)
	// UnidicLite is where unidic-lite is downloaded from; nil means the
	// pinned PyPI release (UnidicLite).
	UnidicLite *Dictionary
	// Pulled, when set, is told of every pull this Puller runs, once
	// however many callers share it: the model, the bytes received from
	// the hub, and the error, nil when the model is in place (metrics).
	Pulled func(model string, bytes int64, err error)

	pulls singleflight.Group // by destination
}

// Pull makes entry's GGUF exist at entry.ModelPath(ModelsDir), with the
// MeCab dictionary its tokenizer needs (see pullDictionary). Callers for
// the same model share one download; a caller whose ctx ends stops waiting
// but the pull goes on for the others.
func (p *Puller) Pull(ctx context.Context, entry catalog.Entry) error {
	dest := entry.ModelPath(p.ModelsDir)
	if _, err := os.Stat(dest); err == nil && p.missingDictionary(entry, dest) == "" {
		return nil
	}
	pulled := p.pulls.DoChan(dest, func() (any, error) {
		// Detached from the first caller: others may still be waiting.
		return nil, p.pull(context.WithoutCancel(ctx), entry, dest)
	})
	select {
	case res := <-pulled:
		return res.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Puller) pull(ctx context.Context, entry catalog.Entry, dest string) (err error) {
	var received receivedBytes
	if p.Pulled != nil {
		defer func() { p.Pulled(entry.Name, received.Total(), err) }()
	}
	if _, err := os.Stat(dest); err != nil {
		if err := p.fetch(ctx, entry, dest, received.counting(p.Progress)); err != nil {
			return p.explainFullDisk(err)
		}
	}
	return p.explainFullDisk(p.pullDictionary(ctx, entry, dest))
}

// explainFullDisk says what to do about an error a full disk caused. The
// error already says what was kept: a download keeps its partial file to
// resume, a conversion leaves nothing.
func (p *Puller) explainFullDisk(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%w; the disk holding %s is full: free space there and pull again (a download goes on where it stopped)", err, p.ModelsDir)
	}
	return err
}

// fetch downloads or converts the model to dest, telling progress how far
// each file has got.
func (p *Puller) fetch(ctx context.Context, entry catalog.Entry, dest string, progress hub.ProgressFunc) error {
	src := entry.Source
	if src.Repo == "" {
		return fmt.Errorf("catalog entry %q has no source.repo to download from; put its GGUF at %s", entry.Name, dest)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	if src.File != "" {
		p.log("downloading %s from %s", src.File, src.Repo)
		return p.Hub.Download(ctx, src.Repo, src.Revision, src.File, dest, hub.DownloadOptions{SHA256: src.SHA256, Progress: progress})
	}
	return p.convert(ctx, src.Repo, src.Revision, src.Outtype, dest, progress)
}

// convert downloads the checkpoint files a conversion needs into a cache
// folder beside the models and converts them to dest.
func (p *Puller) convert(ctx context.Context, repo, revision, outType, dest string, progress hub.ProgressFunc) error {
	files, err := p.Hub.ListFiles(ctx, repo, revision)
	if err != nil {
		return err
	}
	include := checkpointFiles(files)
	dir := filepath.Join(p.ModelsDir, ".checkpoints", strings.ReplaceAll(repo, "/", "--"))
	p.log("downloading the checkpoint of %s", repo)
	if err := p.Hub.DownloadRepo(ctx, repo, revision, dir, include, progress); err != nil {
		return err
	}
	p.log("converting %s to %s", repo, cmp.Or(outType, convert.DefaultOutType))
	return convert.Convert(ctx, convert.Options{
		Input: dir, Output: dest, OutType: outType, Quantize: p.Quantize,
		Warn: func(msg string) { p.log("%s", msg) },
	})
}

// checkpointFiles selects what a conversion reads: configs, tokenizer and
// sentence-transformers files, and one weight format (safetensors when the
// repo has them, PyTorch otherwise; never ONNX, TF or Flax copies).
func checkpointFiles(files []hub.RemoteFile) func(string) bool {
	hasSafetensors := false
	for _, f := range files {
		if strings.HasSuffix(f.Path, ".safetensors") && !strings.Contains(f.Path, "/") {
			hasSafetensors = true
		}
	}
	return func(p string) bool {
		base := path.Base(p)
		dir := path.Dir(p)
		switch {
		case dir == "1_Pooling" || dir == "2_Normalize":
			return strings.HasSuffix(base, ".json")
		case dir != ".":
			return false
		case strings.HasSuffix(base, ".safetensors"), base == "model.safetensors.index.json":
			return true
		case base == "pytorch_model.bin", base == "pytorch_model.bin.index.json",
			strings.HasPrefix(base, "pytorch_model-") && strings.HasSuffix(base, ".bin"):
			return !hasSafetensors
		case slices.Contains(convert.HeadFiles, base): // BGE-M3's sparse and ColBERT heads
			return true
		}
		switch base {
		case "config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
			"vocab.txt", "sentencepiece.bpe.model", "tokenizer.model", "spiece.model",
			"modules.json", "sentence_bert_config.json", "config_sentence_transformers.json":
			return true
		}
		return false
	}
}

func (p *Puller) log(format string, args ...any) {
	if p.Log != nil {
		p.Log(fmt.Sprintf(format, args...))
	}
}

// ChooseGGUF picks the GGUF file of a repository pulled without naming
// one: "" when it has none (it is a checkpoint to convert), the file when
// it has exactly one, an error listing them when there are several.
func (p *Puller) ChooseGGUF(ctx context.Context, repo, revision string) (string, error) {
	files, err := p.Hub.ListFiles(ctx, repo, revision)
	if err != nil {
		return "", err
	}
	var ggufs []string
	for _, f := range files {
		if strings.HasSuffix(f.Path, ".gguf") {
			ggufs = append(ggufs, f.Path)
		}
	}
	switch len(ggufs) {
	case 0:
		return "", nil
	case 1:
		return ggufs[0], nil
	}
	return "", fmt.Errorf("%s has %d GGUF files; name one: rerank-api pull %s:FILE (one of %s)", repo, len(ggufs), repo, strings.Join(ggufs, ", "))
}

// Target is a pull request from the command line: a catalog entry, or an
// ad-hoc repo (with an optional GGUF file) turned into one.
func Target(cat *catalog.Catalog, spec string) (catalog.Entry, error) {
	if e, err := cat.Lookup(spec); err == nil {
		if !e.Supported() {
			return e, fmt.Errorf("%s cannot run in llama.cpp: %s", e.Name, e.Reason)
		}
		return e, nil
	}
	repo, file, _ := strings.Cut(spec, ":")
	if strings.Count(repo, "/") != 1 {
		return catalog.Entry{}, fmt.Errorf("%q is neither a catalog model (see: rerank-api models) nor ORG/REPO[:FILE]", spec)
	}
	name := path.Base(repo)
	if file != "" {
		name = strings.TrimSuffix(path.Base(file), ".gguf")
	}
	return catalog.Entry{Name: name, Repo: repo, Kind: catalog.KindEmbedding, Source: catalog.Source{Repo: repo, File: file}}, nil
}
