package convert

import (
	"fmt"

	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
)

// spladeArch is the architecture of SPLADE checkpoints (naver/splade-v3,
// hotchpotch/japanese-splade-v2): a BERT encoder with its masked-LM head,
// whose logits SPLADE turns into a sparse vector over the vocabulary.
const spladeArch = "BertForMaskedLM"

// addMLMHead adds the masked-LM head of a BertForMaskedLM checkpoint to
// the heads file w (transformers' BertOnlyMLMHead: dense, GELU, LayerNorm,
// decoder). The decoder is vocab × hidden, most of the head: it is stored
// as the model's matrices are when they are f32, else in f16, which ggml
// multiplies at twice the speed of f32 on the CPU.
func (j *job) addMLMHead(w *gguf.Writer, typ gguf.TensorType) error {
	if act := j.config.HiddenAct; act != "" && act != "gelu" {
		return fmt.Errorf("%s: the masked-LM head's hidden_act %q is not supported; only gelu (erf) is", j.arch, act)
	}
	hidden := int64(j.config.HiddenSize)
	words, ok := j.ckpt.Info("bert.embeddings.word_embeddings.weight")
	if !ok || len(words.Shape) != 2 {
		return fmt.Errorf("%s: no bert.embeddings.word_embeddings.weight", j.arch)
	}
	vocab := words.Shape[0]
	// save_pretrained leaves out the decoder's weight when it is tied to
	// the word embeddings (tie_word_embeddings, the default), and its bias
	// is cls.predictions.bias under another name.
	decoder := "cls.predictions.decoder.weight"
	if _, ok := j.ckpt.Info(decoder); !ok {
		decoder = "bert.embeddings.word_embeddings.weight"
	}
	bias := "cls.predictions.bias"
	if _, ok := j.ckpt.Info(bias); !ok {
		bias = "cls.predictions.decoder.bias"
	}
	decoderType := gguf.TensorF16
	if typ == gguf.TensorF32 {
		decoderType = gguf.TensorF32
	}
	for _, t := range []struct {
		gguf, hf string
		shape    []int64 // HF's, [out, in]
		typ      gguf.TensorType
	}{
		{keys.MLMDenseWeight, "cls.predictions.transform.dense.weight", []int64{hidden, hidden}, gguf.TensorF32},
		{keys.MLMDenseBias, "cls.predictions.transform.dense.bias", []int64{hidden}, gguf.TensorF32},
		{keys.MLMNormWeight, "cls.predictions.transform.LayerNorm.weight", []int64{hidden}, gguf.TensorF32},
		{keys.MLMNormBias, "cls.predictions.transform.LayerNorm.bias", []int64{hidden}, gguf.TensorF32},
		{keys.MLMDecoderWeight, decoder, []int64{vocab, hidden}, decoderType},
		{keys.MLMDecoderBias, bias, []int64{vocab}, gguf.TensorF32},
	} {
		info, ok := j.ckpt.Info(t.hf)
		if !ok || fmt.Sprint(info.Shape) != fmt.Sprint(t.shape) {
			return fmt.Errorf("%s: the masked-LM head needs %s of shape %v, found %v", j.arch, t.hf, t.shape, info.Shape)
		}
		ne := make([]uint64, len(t.shape))
		for i, d := range t.shape {
			ne[len(ne)-1-i] = uint64(d)
		}
		name := t.hf
		w.AddTensorFunc(t.gguf, ne, t.typ, func() ([]float32, error) { return j.ckpt.Float32(name) })
	}
	return w.Err()
}
