package convert

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
	"github.com/rerank-api/rerank-api/convert/vocab"
)

// What every architecture's converter shares: the tokenizer, the general
// and serving metadata, and adding checkpoint tensors.

// loadVocab reads the tokenizer and gives it one token per embedding row.
func (j *job) loadVocab(nVocab int) (*vocab.Vocab, error) {
	v, err := vocab.FromDir(j.dir)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	for _, msg := range v.Warnings {
		if msg == vocab.UGMByteFallbackWarning && j.byteFallbackServed && len(v.PrecompiledCharsmap) == 0 {
			continue
		}
		j.warn("%s", msg)
	}
	if len(v.Tokens) > nVocab {
		return nil, fmt.Errorf("tokenizer has %d tokens but the embedding table only %d rows", len(v.Tokens), nVocab)
	}
	// Some checkpoints pad the embedding table past the tokenizer (to a
	// multiple of 8 or 64); llama.cpp needs one token per row.
	v.PadTo(nVocab)
	return v, nil
}

// writeGeneral writes the general.* keys of a file of llama.cpp
// architecture arch whose matrices are stored as typ.
func (j *job) writeGeneral(w *gguf.Writer, arch string, typ gguf.TensorType) {
	fileType := map[gguf.TensorType]gguf.FileType{gguf.TensorF32: gguf.FileF32, gguf.TensorF16: gguf.FileF16, gguf.TensorBF16: gguf.FileBF16}[typ]
	w.AddKV("general.architecture", arch)
	w.AddKV("general.name", filepath.Base(filepath.Clean(j.dir)))
	w.AddKV("general.file_type", fileType)
}

// writeServingMetadata records the sentence-transformers settings and the
// tokenizer class the engine needs (convert/keys). Cross-encoders have no
// normalization to record.
func (j *job) writeServingMetadata(w *gguf.Writer, embedder bool) {
	w.AddKV(keys.SourceArchitecture, j.arch)
	if embedder {
		w.AddKV(keys.Normalize, j.st.Normalize)
	}
	if j.st.MaxSeqLength > 0 {
		w.AddKV(keys.MaxLength, uint32(j.st.MaxSeqLength))
	}
	if j.st.QueryPrompt != "" {
		w.AddKV(keys.QueryPrefix, j.st.QueryPrompt)
		if embedder {
			writeInstructionPrefix(w, j.st.QueryPrompt) // qwen3_prompts.go
		}
	}
	if j.st.DocumentPrompt != "" {
		w.AddKV(keys.DocumentPrefix, j.st.DocumentPrompt)
	}
	raw, err := os.ReadFile(filepath.Join(j.dir, "tokenizer_config.json"))
	if err != nil {
		return
	}
	var tc struct {
		TokenizerClass string `json:"tokenizer_class"`
	}
	if json.Unmarshal(raw, &tc) == nil && tc.TokenizerClass == "BertJapaneseTokenizer" {
		w.AddKV(keys.TokenizerClass, tc.TokenizerClass)
		w.AddKV(keys.TokenizerConfig, string(raw))
		j.warn("BertJapaneseTokenizer: llama.cpp cannot tokenize this model; rerank-api tokenizes it with MeCab + WordPiece at run time")
	}
}

// matrix adds a 2-D tensor, HF [out, in] = GGML ne {in, out}.
func (j *job) matrix(w *gguf.Writer, name, hfName string, typ gguf.TensorType) {
	if info, ok := j.source(hfName, 2); ok {
		ne := []uint64{uint64(info.Shape[1]), uint64(info.Shape[0])}
		w.AddTensorFunc(name, ne, typ, func() ([]float32, error) { return j.ckpt.Float32(hfName) })
	}
}

// vector adds a 1-D tensor; norms and biases stay f32 as llama.cpp expects.
func (j *job) vector(w *gguf.Writer, name, hfName string) {
	if info, ok := j.source(hfName, 1); ok {
		w.AddTensorFunc(name, []uint64{uint64(info.Shape[0])}, gguf.TensorF32, func() ([]float32, error) { return j.ckpt.Float32(hfName) })
	}
}

// source finds a checkpoint tensor of the given rank, or records why not.
func (j *job) source(hfName string, dims int) (checkpoint.TensorInfo, bool) {
	info, ok := j.ckpt.Info(hfName)
	if ok && len(info.Shape) == dims {
		return info, true
	}
	if j.missing == nil {
		if ok {
			j.missing = fmt.Errorf("tensor %s has shape %v, want %d dimensions", hfName, info.Shape, dims)
		} else {
			j.missing = fmt.Errorf("the checkpoint has no tensor %s, which %s needs", hfName, j.arch)
		}
	}
	return info, false
}

// finish is what a write returns: the first missing tensor, else the
// writer's first error.
func (j *job) finish(w *gguf.Writer) error {
	if j.missing != nil {
		return j.missing
	}
	return w.Err()
}

func orDefault(v, d float64) float64 {
	if v == 0 {
		return d
	}
	return v
}
