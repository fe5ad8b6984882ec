package convert

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
)

// HeadFiles are the extra heads BGE-M3's repository keeps beside its
// encoder (FlagEmbedding's BGEM3FlagModel loads them from the root):
// torch.save state dicts of one Linear each.
var HeadFiles = headFiles()

func headFiles() []string {
	files := make([]string, len(headSpecs))
	for i, h := range headSpecs {
		files[i] = h.file
	}
	return files
}

// HeadsPath is where the heads of the model GGUF at modelPath go:
// bge-m3.gguf → bge-m3.heads.gguf. They cannot go inside it: llama.cpp
// refuses a GGUF holding tensors its architecture does not create.
func HeadsPath(modelPath string) string {
	return strings.TrimSuffix(modelPath, ".gguf") + ".heads.gguf"
}

// headSpec is one head: its file, the GGUF names of its tensors, and the
// rows its weight must have (0: any, the ColBERT dimension).
type headSpec struct {
	file, weight, bias string
	rows               int64
}

var headSpecs = []headSpec{
	{"sparse_linear.pt", keys.SparseWeight, keys.SparseBias, 1},
	{"colbert_linear.pt", keys.ColBERTWeight, keys.ColBERTBias, 0},
}

// writeHeads converts the head files in the input folder, if any, and a
// SPLADE model's masked-LM head (splade.go) to the companion of output
// and names it, with its checksum, in w's metadata.
// It writes the companion before the model so that a model naming heads
// never appears without them.
func (j *job) writeHeads(w *gguf.Writer, output string, typ gguf.TensorType) error {
	heads := gguf.NewWriter()
	found := 0
	if j.arch == spladeArch {
		if err := j.addMLMHead(heads, typ); err != nil {
			return err
		}
		w.AddKV(keys.SPLADE, true)
		found++
	}
	for _, h := range headSpecs {
		path := filepath.Join(j.dir, h.file)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := j.addHead(heads, path, h); err != nil {
			return err
		}
		found++
	}
	if found == 0 {
		return nil
	}
	path := HeadsPath(output)
	if err := heads.WriteFile(path); err != nil {
		return fmt.Errorf("writing the heads: %w", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	w.AddKV(keys.HeadsFile, filepath.Base(path))
	w.AddKV(keys.HeadsSHA256, hex.EncodeToString(sum[:]))
	return nil
}

// addHead adds one Linear(hidden, rows) to w in f32: the heads are small
// (BGE-M3's ColBERT head is 1024 × 1024) and their outputs are compared to
// the reference without the loss of a narrower type.
func (j *job) addHead(w *gguf.Writer, path string, h headSpec) error {
	ckpt, err := checkpoint.OpenFile(path)
	if err != nil {
		return err
	}
	defer ckpt.Close()
	hidden := int64(j.config.HiddenSize)
	wi, ok := ckpt.Info("weight")
	if !ok || len(wi.Shape) != 2 || wi.Shape[1] != hidden || (h.rows != 0 && wi.Shape[0] != h.rows) {
		return fmt.Errorf("%s: want a Linear(%d, %s) state dict (weight [out, in], bias [out]), found weight %v",
			h.file, hidden, rowsText(h.rows), wi.Shape)
	}
	out := wi.Shape[0]
	if bi, ok := ckpt.Info("bias"); !ok || len(bi.Shape) != 1 || bi.Shape[0] != out {
		return fmt.Errorf("%s: want a bias of %d values beside the weight %v, found %v", h.file, out, wi.Shape, bi.Shape)
	}
	weight, err := ckpt.Float32("weight")
	if err != nil {
		return err
	}
	bias, err := ckpt.Float32("bias")
	if err != nil {
		return err
	}
	w.AddTensor(h.weight, []uint64{uint64(hidden), uint64(out)}, gguf.TensorF32, weight)
	w.AddTensor(h.bias, []uint64{uint64(out)}, gguf.TensorF32, bias)
	return w.Err()
}

func rowsText(rows int64) string {
	if rows == 0 {
		return "dim"
	}
	return fmt.Sprint(rows)
}
