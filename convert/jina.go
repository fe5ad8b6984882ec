package convert

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/rerank-api/rerank-api/convert/gguf"
)

// Jina AI's encoders come in two layouts llama.cpp runs:
//
//   - jinaai/xlm-roberta-flash-implementation (jina-reranker-v2-base-
//     multilingual, the catalog's default reranker): XLM-RoBERTa under
//     flash-attn's module names. Its config.json declares the standard
//     XLMRobertaForSequenceClassification (custom code through auto_map, no
//     model_type), so the tensor names, not the architecture, tell it apart.
//     It is a post-LayerNorm BERT (Block(prenorm=False)) whose query, key and
//     value share one matrix, and maps onto llama.cpp's "bert", whose graph
//     reads a fused attn_qkv.
//   - jinaai/jina-bert-implementation (jina-embeddings-v2: JinaBertModel):
//     BERT with ALiBi instead of position embeddings and a GEGLU
//     feed-forward, llama.cpp's "jina-bert-v2".

// flashLayer names one layer's tensors in the flash layout
// (xlm-roberta-flash-implementation's convert_roberta_weights_to_flash.py,
// vLLM's jina_to_vllm_mapper and llama.cpp's tensor_mapping.py agree), with
// the llama.cpp tensor each becomes.
var flashLayer = []struct{ gguf, hf string }{
	// torch.cat([query, key, value], dim=0): rows [0,h) are Q, [h,2h) K,
	// [2h,3h) V, each head's dimensions contiguous ("(three h d)"), which is
	// how llama.cpp's bert graph views attn_qkv.
	{"attn_qkv", "mixer.Wqkv"},
	{"attn_output", "mixer.out_proj"},
	{"attn_output_norm", "norm1"},
	{"ffn_up", "mlp.fc1"},
	{"ffn_down", "mlp.fc2"},
	{"layer_output_norm", "norm2"},
}

// newXLMRoberta converts an XLM-RoBERTa checkpoint in transformers' layout
// (bge-m3, bge-reranker-v2-m3) or in the flash layout.
func newXLMRoberta(j *job) (converter, error) {
	if j.config.PositionEmbeddingType == "rotary" {
		// jina-embeddings-v3: flash layout, rotary positions, LoRA adapters.
		return newJinaV3(j)
	}
	c, err := newBERT(j)
	if err != nil {
		return nil, err
	}
	b := c.(*bertFamily)
	flash := false
	for _, t := range j.ckpt.Tensors() {
		flash = flash || strings.Contains(t.Name, ".mixer.Wqkv.")
	}
	if !flash {
		return b, nil
	}
	if _, ok := j.ckpt.Info(b.prefix + "encoder.layers.0.mixer.Wqkv.weight"); !ok {
		return nil, fmt.Errorf("%s: a flash-layout checkpoint (mixer.Wqkv tensors) without %sencoder.layers.0.mixer.Wqkv.weight", j.arch, b.prefix)
	}
	if b.classifier && j.config.TypeVocabSize > 1 {
		return nil, fmt.Errorf("%s: flash-layout cross-encoder with type_vocab_size %d: only one token type is supported", j.arch, j.config.TypeVocabSize)
	}
	return &xlmrFlash{b}, nil
}

// xlmrFlash converts the flash layout. Its embeddings keep transformers'
// names under the same roberta. prefix (and count positions from
// pad_token_id+1 too), so bertFamily's detection, head and helpers apply.
type xlmrFlash struct{ *bertFamily }

func (f *xlmrFlash) write(w *gguf.Writer, typ gguf.TensorType) error {
	nVocab, nCtx, err := f.tableSizes()
	if err != nil {
		return err
	}
	if err := f.writeEncoderHeader(w, "bert", typ, nVocab, nCtx, false); err != nil {
		return err
	}
	p := f.prefix
	f.matrix(w, "token_embd.weight", p+"embeddings.word_embeddings.weight", typ)
	f.matrix(w, "token_types.weight", p+"embeddings.token_type_embeddings.weight", gguf.TensorF32)
	hidden, offset := f.config.HiddenSize, f.positionOffset*f.config.HiddenSize
	w.AddTensorFunc("position_embd.weight", []uint64{uint64(hidden), uint64(nCtx)}, gguf.TensorF32, func() ([]float32, error) {
		all, err := f.ckpt.Float32(p + "embeddings.position_embeddings.weight")
		if err != nil {
			return nil, err
		}
		return all[offset:], nil
	})
	f.dense(w, "token_embd_norm", p+"emb_ln", gguf.TensorF32)
	for i := range f.config.NumHiddenLayers {
		for _, m := range flashLayer {
			f.dense(w, fmt.Sprintf("blk.%d.%s", i, m.gguf), fmt.Sprintf("%sencoder.layers.%d.%s", p, i, m.hf), typ)
		}
	}
	if f.classifier {
		// RobertaClassificationHead: out_proj(tanh(dense(h_<s>))), the
		// order llama.cpp's rank pooling applies cls and cls.output.
		f.dense(w, "cls", "classifier.dense", typ)
		f.dense(w, "cls.output", "classifier.out_proj", typ)
	}
	return f.finish(w)
}

// dense adds a linear layer or layer norm hfName (.weight and .bias) as
// name: 2-D weights as typ, 1-D ones and every bias as f32.
func (b *bertFamily) dense(w *gguf.Writer, name, hfName string, typ gguf.TensorType) {
	if info, ok := b.ckpt.Info(hfName + ".weight"); ok && len(info.Shape) == 1 {
		b.vector(w, name+".weight", hfName+".weight")
	} else {
		b.matrix(w, name+".weight", hfName+".weight", typ)
	}
	b.vector(w, name+".bias", hfName+".bias")
}

// jinaBERT converts JinaBertModel checkpoints (jina-embeddings-v2-small/
// base-en) onto llama.cpp's "jina-bert-v2": no position table (llama.cpp
// applies ALiBi with max bias 8, the slopes JinaBert uses), and the GEGLU
// gated_layers matrix as one ffn_up of 2·intermediate rows, which
// llama.cpp splits as JinaBert does: GELU of the first half times the
// second.
type jinaBERT struct{ *bertFamily }

func newJinaBERT(j *job) (converter, error) {
	var extra struct {
		FeedForwardType string `json:"feed_forward_type"`
	}
	if _, err := readJSON(filepath.Join(j.dir, "config.json"), &extra); err != nil {
		return nil, err
	}
	switch {
	case j.config.PositionEmbeddingType != "alibi":
		return nil, fmt.Errorf("%s with position_embedding_type %q: only ALiBi (jina-bert-v2) is supported", j.arch, j.config.PositionEmbeddingType)
	case extra.FeedForwardType != "" && extra.FeedForwardType != "geglu":
		return nil, fmt.Errorf("%s with feed_forward_type %q: llama.cpp's jina-bert-v2 computes GEGLU only", j.arch, extra.FeedForwardType)
	}
	c, err := newBERT(j)
	if err != nil {
		return nil, err
	}
	b := c.(*bertFamily)
	if _, ok := j.ckpt.Info(b.prefix + "encoder.layer.0.mlp.gated_layers.weight"); !ok {
		// jina-embeddings-v2-base-code's layer (up_gated_layer, extra
		// LayerNorms) is laid out differently.
		return nil, fmt.Errorf("%s checkpoint has no %sencoder.layer.0.mlp.gated_layers.weight: only the jina-embeddings-v2 text layout is supported", j.arch, b.prefix)
	}
	return &jinaBERT{b}, nil
}

func (m *jinaBERT) write(w *gguf.Writer, typ gguf.TensorType) error {
	cfg := m.config
	words, ok := m.ckpt.Info(m.prefix + "embeddings.word_embeddings.weight")
	if !ok || len(words.Shape) != 2 || int(words.Shape[1]) != cfg.HiddenSize {
		return fmt.Errorf("word embeddings shape %v does not match hidden_size %d", words.Shape, cfg.HiddenSize)
	}
	if cfg.MaxPositionEmbeddings < 1 {
		return fmt.Errorf("config.json has no max_position_embeddings: llama.cpp needs the trained context length")
	}
	if err := m.writeEncoderHeader(w, "jina-bert-v2", typ, int(words.Shape[0]), cfg.MaxPositionEmbeddings, false); err != nil {
		return err
	}
	p := m.prefix
	m.matrix(w, "token_embd.weight", p+"embeddings.word_embeddings.weight", typ)
	m.matrix(w, "token_types.weight", p+"embeddings.token_type_embeddings.weight", gguf.TensorF32)
	m.dense(w, "token_embd_norm", p+"embeddings.LayerNorm", gguf.TensorF32)
	for i := range cfg.NumHiddenLayers {
		hf, blk := fmt.Sprintf("%sencoder.layer.%d.", p, i), fmt.Sprintf("blk.%d.", i)
		for _, t := range []struct{ gguf, hf string }{
			{"attn_q", "attention.self.query"},
			{"attn_k", "attention.self.key"},
			{"attn_v", "attention.self.value"},
			{"attn_output", "attention.output.dense"},
			{"attn_output_norm", "attention.output.LayerNorm"},
			{"ffn_down", "mlp.wo"},
			{"layer_output_norm", "mlp.layernorm"},
		} {
			m.dense(w, blk+t.gguf, hf+t.hf, typ)
		}
		m.matrix(w, blk+"ffn_up.weight", hf+"mlp.gated_layers.weight", typ) // no bias
	}
	return m.finish(w)
}
