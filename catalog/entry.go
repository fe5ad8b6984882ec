package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Kind says which API a model serves.
type Kind string

const (
	KindEmbedding Kind = "embedding"
	KindRerank    Kind = "rerank"
)

// Values of Entry.Status. An empty status means supported, so that the
// minimum user entry does not have to spell it out; "supported" exists so a
// user file can switch a built-in unsupported entry back on (see New).
const (
	StatusSupported   = "supported"
	StatusUnsupported = "unsupported"
)

// Values of Entry.Pooling, named as llama.cpp names its pooling types.
// PoolingRank is the cross-encoder head: one relevance logit per
// (query, document) pair.
const (
	PoolingCLS  = "cls"
	PoolingMean = "mean"
	PoolingLast = "last"
	PoolingRank = "rank"
)

// Source is where `pull` downloads a model from.
type Source struct {
	Repo     string `yaml:"repo,omitempty" json:"repo,omitempty"`         // HF repo id
	File     string `yaml:"file,omitempty" json:"file,omitempty"`         // GGUF file inside the repo, when a published GGUF is used
	SHA256   string `yaml:"sha256,omitempty" json:"sha256,omitempty"`     // of File
	Revision string `yaml:"revision,omitempty" json:"revision,omitempty"` // git revision; "" = main
	Outtype  string `yaml:"outtype,omitempty" json:"outtype,omitempty"`   // conversion type when converting a checkpoint: f16, q8_0...
}

// Entry describes one model. Zero values mean "not stated": the backend then
// takes the value from the GGUF file (pooling, context, dimensions).
type Entry struct {
	Name           string   `yaml:"name" json:"name"`                                           // short name, e.g. bge-m3
	Repo           string   `yaml:"repo,omitempty" json:"repo,omitempty"`                       // full HF id, e.g. BAAI/bge-m3; also accepted in requests
	Kind           Kind     `yaml:"kind" json:"kind"`                                           // embedding | rerank
	Status         string   `yaml:"status,omitempty" json:"status,omitempty"`                   // "" (= supported), supported or unsupported
	Reason         string   `yaml:"reason,omitempty" json:"reason,omitempty"`                   // why unsupported
	Architecture   string   `yaml:"architecture,omitempty" json:"architecture,omitempty"`       // HF architecture, e.g. XLMRobertaModel
	Pooling        string   `yaml:"pooling,omitempty" json:"pooling,omitempty"`                 // cls | mean | last | rank; "" = as the GGUF says
	Normalize      *bool    `yaml:"normalize,omitempty" json:"normalize,omitempty"`             // L2-normalize embeddings; nil = true for embedding models
	MaxLength      int      `yaml:"max_length,omitempty" json:"max_length,omitempty"`           // max tokens incl. specials; 0 = model's trained context
	Dimensions     int      `yaml:"dimensions,omitempty" json:"dimensions,omitempty"`           // embedding size
	QueryPrefix    string   `yaml:"query_prefix,omitempty" json:"query_prefix,omitempty"`       // prepended to queries
	DocumentPrefix string   `yaml:"document_prefix,omitempty" json:"document_prefix,omitempty"` // prepended to documents
	Languages      []string `yaml:"languages,omitempty" json:"languages,omitempty"`             // ISO 639-1 codes, or "multilingual"
	License        string   `yaml:"license,omitempty" json:"license,omitempty"`                 // SPDX id where one exists
	Description    string   `yaml:"description,omitempty" json:"description,omitempty"`         // one line for GET /models
	Size           string   `yaml:"size,omitempty" json:"size,omitempty"`                       // parameters, human-readable, e.g. "568M"
	File           string   `yaml:"file,omitempty" json:"file,omitempty"`                       // GGUF path; relative = against the models dir
	Source         Source   `yaml:"source,omitempty" json:"source,omitzero"`                    // where pull gets it; omitzero as json omitempty keeps empty structs
	// RelevantLabel is, for a reranker whose head has several outputs, the
	// index of the "relevant" label whose softmax probability is the score;
	// nil means the last label (LABEL_1 of a two-label head, the usual
	// positive class). One-output heads ignore it: their score is the
	// sigmoid of the logit.
	RelevantLabel *int `yaml:"relevant_label,omitempty" json:"relevant_label,omitempty"`
	// MecabDicdir is the compiled MeCab dictionary a BertJapaneseTokenizer
	// model segments with, overriding MECAB_DICDIR and the dictionary its
	// tokenizer config names (unidic-lite, pulled with the model).
	MecabDicdir string `yaml:"mecab_dicdir,omitempty" json:"mecab_dicdir,omitempty"`
	// Outputs are the representations an embedding model serves beyond
	// its dense vector (OutputSparse, OutputColBERT: BGE-M3's heads, which
	// pull converts into a companion file); empty means dense only. The
	// engine serves what the converted heads allow; this field tells
	// clients what to expect before a download.
	Outputs []string `yaml:"outputs,omitempty" json:"outputs,omitempty"`
	// Matryoshka says whether the model was trained so that the first N
	// components of an embedding are an embedding themselves (Matryoshka
	// representation learning), which a request's dimensions rely on:
	// false refuses dimensions below the full size (400), nil (not
	// stated) allows them. MinDimensions is the smallest size trained,
	// refused below; 0 means no limit.
	Matryoshka    *bool `yaml:"matryoshka,omitempty" json:"matryoshka,omitempty"`
	MinDimensions int   `yaml:"min_dimensions,omitempty" json:"min_dimensions,omitempty"`
	// KVCacheType is how a decoder's attention cache stores keys and
	// values: "" or KVCacheF16 (llama.cpp's default), or KVCacheF32,
	// exact to f32 rounding, which also turns flash attention off for the
	// model (llama.cpp's CPU flash attention computes in f16) at the cost
	// of twice the cache and a quadratic attention buffer.
	KVCacheType string `yaml:"kv_cache_type,omitempty" json:"kv_cache_type,omitempty"`
}

// Values of Entry.KVCacheType, named as llama-server's --cache-type-k.
const (
	KVCacheF16 = "f16"
	KVCacheF32 = "f32"
)

// Values of Entry.Outputs.
const (
	OutputDense   = "dense"
	OutputSparse  = "sparse"
	OutputColBERT = "colbert"
)

// Supported reports whether llama.cpp can run the model. Requests for an
// unsupported model are refused with Reason.
func (e Entry) Supported() bool { return e.Status != StatusUnsupported }

// ShouldNormalize reports whether embeddings are L2-normalized by default.
// Embedding models default to true because cosine similarity is what their
// model cards prescribe; rerankers return scores, which are never normalized.
func (e Entry) ShouldNormalize() bool {
	if e.Normalize != nil {
		return *e.Normalize
	}
	return e.Kind == KindEmbedding
}

// ModelPath is where the model's GGUF file lives: File as is when absolute,
// File under modelsDir when relative, and <modelsDir>/<Name>.gguf when File is
// empty, which is where `pull` puts what it downloads.
func (e Entry) ModelPath(modelsDir string) string {
	switch {
	case e.File == "":
		return filepath.Join(modelsDir, e.Name+".gguf")
	case filepath.IsAbs(e.File):
		return e.File
	default:
		return filepath.Join(modelsDir, e.File)
	}
}

// clone copies the slice and the pointer, so a caller that edits what Lookup or
// Entries returned cannot change the shared catalog.
func (e Entry) clone() Entry {
	if e.Languages != nil {
		e.Languages = append([]string(nil), e.Languages...)
	}
	if e.Normalize != nil {
		v := *e.Normalize
		e.Normalize = &v
	}
	if e.RelevantLabel != nil {
		v := *e.RelevantLabel
		e.RelevantLabel = &v
	}
	if e.Matryoshka != nil {
		v := *e.Matryoshka
		e.Matryoshka = &v
	}
	e.Outputs = slices.Clone(e.Outputs)
	return e
}

// Parse reads a models file (a top-level `models:` list) and validates it: see
// validate for the rules. Unknown keys are errors, so a misspelt field in a
// user file is reported instead of silently ignored.
func Parse(data []byte) ([]Entry, error) {
	entries, err := decode(data)
	if err != nil {
		return nil, err
	}
	if err := validate(entries); err != nil {
		return nil, err
	}
	return entries, nil
}

// decode parses without validating: an override in a user file may leave out
// fields (even kind) that the built-in entry supplies, so New validates only
// after merging.
func decode(data []byte) ([]Entry, error) {
	var file struct {
		Models []Entry `yaml:"models"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil && !errors.Is(err, io.EOF) {
		// io.EOF: an empty file, which simply lists no models.
		return nil, fmt.Errorf("parsing models file: %w", err)
	}
	return file.Models, nil
}

// validate checks every entry and reports all problems at once, each naming
// its entry, so a user fixes a config file in one pass.
func validate(entries []Entry) error {
	var errs []error
	byName := map[string]bool{}
	byRepo := map[string]string{}
	for i, e := range entries {
		if e.Name == "" {
			errs = append(errs, fmt.Errorf("models[%d]: name is required", i))
			continue
		}
		fail := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("model %q: "+format, append([]any{e.Name}, args...)...))
		}
		for _, p := range pathProblems(e) {
			fail("%s", p)
		}
		if byName[e.Name] {
			fail("duplicate name")
		}
		byName[e.Name] = true
		if e.Repo != "" {
			key := foldRepo(e.Repo)
			if other, ok := byRepo[key]; ok {
				fail("repo %q is already used by model %q; to change that model, use its name", e.Repo, other)
			} else {
				byRepo[key] = e.Name
			}
		}
		switch e.Kind {
		case KindEmbedding, KindRerank:
		case "":
			fail("kind is required (embedding or rerank)")
		default:
			fail("kind %q is invalid; want embedding or rerank", e.Kind)
		}
		switch e.Status {
		case "", StatusSupported:
		case StatusUnsupported:
			if strings.TrimSpace(e.Reason) == "" {
				fail("status unsupported needs a reason")
			}
		default:
			fail("status %q is invalid; want supported or unsupported", e.Status)
		}
		switch e.Pooling {
		case "":
		case PoolingRank:
			if e.Kind == KindEmbedding {
				fail("pooling rank is for rerank models, not embedding ones")
			}
		case PoolingCLS, PoolingMean, PoolingLast:
			// llama.cpp only scores pairs with the rank head; any other
			// pooling would turn a reranker into an embedder.
			if e.Kind == KindRerank {
				fail("pooling %q is invalid for a rerank model; want rank", e.Pooling)
			}
		default:
			fail("pooling %q is invalid; want cls, mean, last or rank", e.Pooling)
		}
		if e.MaxLength < 0 || e.Dimensions < 0 {
			fail("max_length and dimensions must not be negative")
		}
		if (e.Matryoshka != nil || e.MinDimensions != 0) && e.Kind != KindEmbedding {
			fail("matryoshka and min_dimensions are for embedding models")
		}
		if e.KVCacheType != "" && e.KVCacheType != KVCacheF16 && e.KVCacheType != KVCacheF32 {
			fail("kv_cache_type %q is invalid; want f16 or f32", e.KVCacheType)
		}
		if e.MinDimensions < 0 || e.Dimensions > 0 && e.MinDimensions > e.Dimensions {
			fail("min_dimensions %d must be between 0 and dimensions %d", e.MinDimensions, e.Dimensions)
		}
		if e.RelevantLabel != nil && (*e.RelevantLabel < 0 || e.Kind != KindRerank) {
			fail("relevant_label must be a label index (0 or more) of a rerank model")
		}
		for _, o := range e.Outputs {
			if o != OutputDense && o != OutputSparse && o != OutputColBERT || e.Kind != KindEmbedding {
				fail("outputs %q is invalid; want dense, sparse or colbert, on an embedding model", o)
			}
		}
	}
	return errors.Join(errs...)
}
