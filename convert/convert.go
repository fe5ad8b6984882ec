package convert

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/convert/gguf"
)

// Options describe one conversion.
type Options struct {
	Input  string // Hugging Face model directory
	Output string // GGUF file to write
	// OutType is one of gguf.FileTypeNames; "" means DefaultOutType.
	OutType string
	// Quantize runs llama.cpp's quantizer from an f32 GGUF to a quantized
	// one; required for quantized output types.
	Quantize func(in, out, outType string) error
	// Progress is told about each tensor written.
	Progress func(done, total int, tensor string)
	// Warn receives notes about choices the converter made (e.g. a default
	// pooling) that a user may want to check.
	Warn func(msg string)
}

// DefaultOutType is the output type of a conversion that names none: f16
// halves the size of f32 weights for a cosine similarity above 0.9999.
const DefaultOutType = "f16"

// converter maps one architecture family onto a llama.cpp architecture.
type converter interface {
	// write adds metadata and tensors to w; matrices are stored as typ.
	write(w *gguf.Writer, typ gguf.TensorType) error
}

// architectures maps config.json architectures to their converters.
var architectures = map[string]func(job *job) (converter, error){
	"BertModel":                           newBERT,
	"BertForSequenceClassification":       newBERT,
	"BertForMaskedLM":                     newBERT,       // SPLADE: the MLM head goes to the heads file (splade.go)
	"XLMRobertaModel":                     newXLMRoberta, // transformers' or the flash layout (jina.go)
	"XLMRobertaForSequenceClassification": newXLMRoberta,
	"RobertaModel":                        newBERT,
	"RobertaForSequenceClassification":    newBERT,
	"LukeModel":                           newBERT,
	"JinaBertModel":                       newJinaBERT,
	"JinaBertForMaskedLM":                 newJinaBERT,
	"MistralModel":                        newLlama,
	"LlamaModel":                          newLlama,
	"Qwen3ForCausalLM":                    newQwen3, // Qwen3-Embedding and Qwen3-Reranker (qwen3.go)
	"Qwen3Model":                          newQwen3,
	"Gemma3TextModel":                     newGemmaEmbedding,
	"ModernBertModel":                     newModernBERT, // ruri-v3 (modernbert.go)
	"ModernBertForMaskedLM":               newModernBERT,
	"ModernBertForSequenceClassification": newModernBERT,
	"NomicBertModel":                      newNomicBERT, // nomic-embed-text-v2-moe (nomic.go)
}

func supportedArchitectures() []string { return slices.Sorted(maps.Keys(architectures)) }

// job is the state shared by a conversion's steps.
type job struct {
	opts   Options
	dir    string
	config *hfConfig
	arch   string
	st     stInfo
	ckpt   *checkpoint.Checkpoint
	// missing is the first tensor not found with the expected shape; the
	// tensor helpers record it so a write can add all tensors, then fail.
	missing error
	// byteFallbackServed: the architecture's engine applies byte fallback
	// itself to unigram vocabularies without a precompiled charsmap
	// (ModernBERT: backend/llama/modernbert_tokenize.go), so llama.cpp's
	// limit does not apply to them.
	byteFallbackServed bool
}

func (j *job) warn(format string, args ...any) {
	if j.opts.Warn != nil {
		j.opts.Warn(fmt.Sprintf(format, args...))
	}
}

// Convert converts opts.Input into opts.Output. The output appears only
// when the conversion succeeded: it is written to a temporary file first.
func Convert(ctx context.Context, opts Options) error {
	outType, err := gguf.ParseFileType(cmp.Or(opts.OutType, DefaultOutType))
	if err != nil {
		return err
	}
	typ, written := outType.TensorType()
	if !written {
		if opts.Quantize == nil {
			return fmt.Errorf("output type %s needs llama.cpp's quantizer, which this build did not provide", outType)
		}
		typ = gguf.TensorF32 // the quantizer starts from full precision
	}

	cfg, err := readConfig(opts.Input)
	if err != nil {
		return err
	}
	arch := cfg.Architectures[0]
	newConverter, ok := architectures[arch]
	if !ok {
		return fmt.Errorf("architecture %s is not supported; supported: %s", arch, strings.Join(supportedArchitectures(), ", "))
	}
	st, err := readSentenceTransformers(opts.Input)
	if err != nil {
		return err
	}
	ckpt, err := checkpoint.Open(opts.Input)
	if err != nil {
		return err
	}
	defer ckpt.Close()
	j := &job{opts: opts, dir: opts.Input, config: cfg, arch: arch, st: st, ckpt: ckpt}
	if st.QueryPromptName != "" && st.QueryPromptName != "query" {
		j.warn("no \"query\" prompt; queries get the %s prompt %q", st.QueryPromptName, st.QueryPrompt)
	}
	conv, err := newConverter(j)
	if err != nil {
		return err
	}

	w := gguf.NewWriter()
	w.Progress = func(done, total int, name string) {
		if opts.Progress != nil {
			opts.Progress(done, total, name)
		}
	}
	if err := conv.write(w, typ); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := j.writeHeads(w, opts.Output, typ); err != nil {
		return err
	}
	if written {
		return w.WriteFile(opts.Output)
	}
	tmp := opts.Output + ".f32.tmp"
	defer os.Remove(tmp)
	if err := w.WriteFile(tmp); err != nil {
		return err
	}
	part := filepath.Join(filepath.Dir(opts.Output), "."+filepath.Base(opts.Output)+".partial")
	defer os.Remove(part)
	if err := opts.Quantize(tmp, part, outType.String()); err != nil {
		return fmt.Errorf("quantizing to %s: %w", outType, err)
	}
	return os.Rename(part, opts.Output)
}
