package convert

import (
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
	Input   string // Hugging Face model directory
	Output  string // GGUF file to write
	OutType string // f32, f16, bf16, or a quantized type (q8_0, q4_k_m, q5_k_m, q6_k)
	// Quantize runs llama.cpp's quantizer from an f32 GGUF to a quantized
	// one; required for quantized output types.
	Quantize func(in, out, outType string) error
	// Progress is told about each tensor written.
	Progress func(done, total int, tensor string)
	// Warn receives notes about choices the converter made (e.g. a default
	// pooling) that a user may want to check.
	Warn func(msg string)
}

// FloatTypes are written directly; QuantTypes go through llama.cpp.
var (
	FloatTypes = []string{"f32", "f16", "bf16"}
	QuantTypes = []string{"q8_0", "q4_k_m", "q5_k_m", "q6_k"}
)

// converter maps one architecture family onto a llama.cpp architecture.
type converter interface {
	// write adds metadata and tensors to w; matrices are stored as typ.
	write(w *gguf.Writer, typ gguf.TensorType) error
}

// architectures maps config.json architectures to their converters.
var architectures = map[string]func(job *job) (converter, error){
	"BertModel":                           newBERT,
	"BertForSequenceClassification":       newBERT,
	"XLMRobertaModel":                     newXLMRoberta, // transformers' or the flash layout (jina.go)
	"XLMRobertaForSequenceClassification": newXLMRoberta,
	"RobertaModel":                        newBERT,
	"RobertaForSequenceClassification":    newBERT,
	"LukeModel":                           newBERT,
	"JinaBertModel":                       newJinaBERT,
	"JinaBertForMaskedLM":                 newJinaBERT,
	"MistralModel":                        newLlama,
	"LlamaModel":                          newLlama,
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
}

func (j *job) warn(format string, args ...any) {
	if j.opts.Warn != nil {
		j.opts.Warn(fmt.Sprintf(format, args...))
	}
}

// Convert converts opts.Input into opts.Output. The output appears only
// when the conversion succeeded: it is written to a temporary file first.
func Convert(ctx context.Context, opts Options) error {
	outType := strings.ToLower(opts.OutType)
	if outType == "" {
		outType = "f16"
	}
	quantized := slices.Contains(QuantTypes, outType)
	if !quantized && !slices.Contains(FloatTypes, outType) {
		return fmt.Errorf("unknown --outtype %q: want one of %s", opts.OutType, strings.Join(append(FloatTypes, QuantTypes...), ", "))
	}
	if quantized && opts.Quantize == nil {
		return fmt.Errorf("--outtype %s needs llama.cpp's quantizer, which this build did not provide", outType)
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
	typ := map[string]gguf.TensorType{"f32": gguf.TensorF32, "f16": gguf.TensorF16, "bf16": gguf.TensorBF16}[outType]
	if quantized {
		typ = gguf.TensorF32 // the quantizer starts from full precision
	}
	if err := conv.write(w, typ); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if !quantized {
		return w.WriteFile(opts.Output)
	}
	tmp := opts.Output + ".f32.tmp"
	defer os.Remove(tmp)
	if err := w.WriteFile(tmp); err != nil {
		return err
	}
	part := filepath.Join(filepath.Dir(opts.Output), "."+filepath.Base(opts.Output)+".partial")
	defer os.Remove(part)
	if err := opts.Quantize(tmp, part, outType); err != nil {
		return fmt.Errorf("quantizing to %s: %w", outType, err)
	}
	return os.Rename(part, opts.Output)
}
