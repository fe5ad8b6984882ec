package testmodel

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/rerank-api/rerank-api/internal/reference"
)

// GenerateSPLADE is Generate's encoder with a masked-LM head, a
// BertForMaskedLM as SPLADE models are (WriteHF with Arch
// "BertForMaskedLM" writes it). tied makes the decoder the word
// embeddings, as save_pretrained stores most checkpoints; otherwise it is
// a matrix of its own, written as cls.predictions.decoder.weight.
func GenerateSPLADE(cfg Config, tied bool) *reference.Weights {
	w := Generate(cfg)
	g := generator{seed: cfg.Seed, std: cfg.initStd()}
	h, vocab := cfg.Hidden, w.VocabSize()
	head := &reference.MLMHead{
		Dense: g.dense("mlm.dense", h, h),
		Norm:  g.layerNorm("mlm.norm", h),
		Tied:  tied,
		Bias:  g.normal("mlm.decoder.bias", vocab, 0, g.std),
	}
	if tied {
		head.Decoder = w.WordEmbeddings
	} else {
		head.Decoder = g.matrix("mlm.decoder", vocab, h)
	}
	w.MLM = head
	return w
}

// mlmTensors are the head's tensors under BertForMaskedLM's names.
func mlmTensors(h *reference.MLMHead) []hfTensor {
	ts := []hfTensor{
		{"cls.predictions.bias", []int64{int64(len(h.Bias))}, h.Bias},
		{"cls.predictions.transform.dense.weight", []int64{int64(h.Dense.Weight.Rows), int64(h.Dense.Weight.Cols)}, h.Dense.Weight.Data},
		{"cls.predictions.transform.dense.bias", []int64{int64(len(h.Dense.Bias))}, h.Dense.Bias},
		{"cls.predictions.transform.LayerNorm.weight", []int64{int64(len(h.Norm.Weight))}, h.Norm.Weight},
		{"cls.predictions.transform.LayerNorm.bias", []int64{int64(len(h.Norm.Bias))}, h.Norm.Bias},
	}
	if !h.Tied {
		ts = append(ts, hfTensor{"cls.predictions.decoder.weight", []int64{int64(h.Decoder.Rows), int64(h.Decoder.Cols)}, h.Decoder.Data})
	}
	return ts
}

// WriteSPLADETorch rewrites the weights of a checkpoint that WriteHF wrote
// from w with Arch "BertForMaskedLM" as transformers before 4.31 saved
// them: pytorch_model.bin in place of model.safetensors, with a tied
// decoder's weight and bias present as the word embeddings' and
// cls.predictions.bias's storages under their own names.
func WriteSPLADETorch(dir string, w *reference.Weights, cfg Config) error {
	var tensors []ptTensor
	key := map[string]string{}
	for i, t := range hfTensors(w, cfg, hfArchs["BertForMaskedLM"]) {
		key[t.name] = fmt.Sprint(i)
		tensors = append(tensors, ptTensor{t.name, key[t.name], t.shape, t.data})
	}
	if w.MLM.Tied {
		words := w.WordEmbeddings
		tensors = append(tensors,
			ptTensor{"cls.predictions.decoder.weight", key["bert.embeddings.word_embeddings.weight"], []int64{int64(words.Rows), int64(words.Cols)}, words.Data},
			ptTensor{"cls.predictions.decoder.bias", key["cls.predictions.bias"], []int64{int64(len(w.MLM.Bias))}, w.MLM.Bias})
	}
	if err := os.Remove(filepath.Join(dir, "model.safetensors")); err != nil {
		return fmt.Errorf("testmodel: %w", err)
	}
	return writeStateDictPT(filepath.Join(dir, "pytorch_model.bin"), "pytorch_model", tensors)
}
