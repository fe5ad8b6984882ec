package convert

import (
	"fmt"
	"slices"

	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/vocab"
)

// qwen3Family converts Qwen3 decoders onto llama.cpp's "qwen3"
// architecture, which is the llama layout plus an RMSNorm over each head
// of the queries and keys, and NeoX-style rotary embeddings (HF's
// rotate_half, so q_proj and k_proj convert unpermuted).
//
// Both Qwen3 retrieval families declare Qwen3ForCausalLM:
//   - Qwen3-Embedding: weights without "model.", no lm_head, and the
//     sentence-transformers files of a last-token, normalized embedder; the
//     card appends <|endoftext|> to every text and pools it.
//   - Qwen3-Reranker: weights under "model." with lm_head (tied to the
//     embeddings in the 0.6B), no sentence-transformers files. The card
//     scores a pair by the last token's "yes" against "no" logit; the
//     converter keeps those two rows of the head as cls.output, which
//     llama.cpp's rank pooling applies to the last token of a qwen3 model
//     and turns into softmax([yes, no]) (llama-graph.cpp build_pooling).
//
// So a checkpoint with a sentence-transformers pooling module (or saved as
// Qwen3Model) is an embedder, and one without is a reranker.
type qwen3Family struct {
	*llamaFamily
	reranker bool
	head     string // the checkpoint tensor whose rows are the LM head
}

func newQwen3(j *job) (converter, error) {
	m, err := readDecoder(j)
	if err != nil {
		return nil, err
	}
	if m.decoder.UseSlidingWindow {
		return nil, fmt.Errorf("use_sliding_window is set: llama.cpp's qwen3 attends over the whole input, so it would not compute this model")
	}
	q := &qwen3Family{llamaFamily: m}
	if j.arch == "Qwen3Model" || j.st.Pooling != "" {
		m.pooling = j.st.Pooling
		if m.pooling == "" {
			m.pooling = "last"
			j.warn("no sentence-transformers pooling config; using last-token pooling, as Qwen3-Embedding does")
		}
		return q, nil
	}
	q.reranker, m.pooling = true, "rank"
	switch _, hasHead := j.ckpt.Info("lm_head.weight"); {
	case hasHead:
		q.head = "lm_head.weight"
	case m.decoder.TieWordEmbeddings:
		q.head = m.prefix + "embed_tokens.weight"
	default:
		return nil, fmt.Errorf("%s without a sentence-transformers pooling module converts as Qwen3-Reranker, "+
			"which needs lm_head.weight (or tie_word_embeddings); this checkpoint has neither", j.arch)
	}
	j.warn("no sentence-transformers pooling module: converting as Qwen3-Reranker, scoring a pair by the last token's \"yes\" against \"no\" logit")
	return q, nil
}

func (q *qwen3Family) write(w *gguf.Writer, typ gguf.TensorType) error {
	cfg, dc := q.config, q.decoder
	hidden, ff := cfg.HiddenSize, cfg.IntermediateSize
	v, nVocab, err := q.decoderVocab() // mistral.go
	if err != nil {
		return err
	}
	var yes, no int
	if q.reranker {
		v.AddBOS, v.AddEOS = false, false // the prompt turns frame every pair
		yes, no = slices.Index(v.Tokens, "yes"), slices.Index(v.Tokens, "no")
		if yes < 0 || no < 0 {
			return fmt.Errorf("the vocabulary has no \"yes\" or no \"no\" token, whose logits Qwen3-Reranker compares")
		}
	} else {
		// The card appends <|endoftext|> by hand and pools it; Qwen3's
		// tokenizer_config names <|im_end|> as EOS.
		eot := slices.Index(v.Tokens, "<|endoftext|>")
		if eot < 0 {
			return fmt.Errorf("the vocabulary has no <|endoftext|>, which Qwen3-Embedding appends to every text and pools")
		}
		v.EOS, v.AddEOS = int32(eot), true
	}
	if v.Model != vocab.ModelBPE {
		q.warn("the tokenizer is not byte-level BPE, unlike Qwen3's: check that texts tokenize as the model card's do")
	}

	const arch = "qwen3"
	q.writeGeneral(w, arch, typ)
	writeDecoderShape(w, arch, cfg, dc)
	w.AddKV(arch+".attention.key_length", uint32(dc.HeadDim))
	w.AddKV(arch+".attention.value_length", uint32(dc.HeadDim))
	w.AddKV(arch+".rope.freq_base", float32(orDefault(dc.RopeTheta, 1e6)))
	w.AddKV(arch+".pooling_type", poolingTypes[q.pooling])
	if q.reranker {
		w.AddKV(arch+".classifier.output_labels", []string{"yes", "no"})
		writeQwen3RerankPrompts(w)
	}
	if err := v.WriteGGUF(w); err != nil {
		return err
	}
	q.writeServingMetadata(w, !q.reranker)

	// Tensors, in llama.cpp's order. Without output.weight llama.cpp
	// takes the embeddings as the LM head, which embeddings never read
	// and the reranker reads only through cls.output.
	qRows, kvRows, hd := cfg.NumAttentionHeads*dc.HeadDim, dc.KVHeads*dc.HeadDim, dc.HeadDim
	q.tensor(w, "token_embd.weight", "embed_tokens.weight", typ, nil, nVocab, hidden)
	for i := range cfg.NumHiddenLayers {
		hf := fmt.Sprintf("layers.%d.", i)
		blk := fmt.Sprintf("blk.%d.", i)
		q.tensor(w, blk+"attn_norm.weight", hf+"input_layernorm.weight", gguf.TensorF32, nil, hidden)
		q.tensor(w, blk+"attn_q.weight", hf+"self_attn.q_proj.weight", typ, nil, qRows, hidden)
		q.tensor(w, blk+"attn_k.weight", hf+"self_attn.k_proj.weight", typ, nil, kvRows, hidden)
		q.tensor(w, blk+"attn_v.weight", hf+"self_attn.v_proj.weight", typ, nil, kvRows, hidden)
		q.tensor(w, blk+"attn_output.weight", hf+"self_attn.o_proj.weight", typ, nil, hidden, qRows)
		q.tensor(w, blk+"attn_q_norm.weight", hf+"self_attn.q_norm.weight", gguf.TensorF32, nil, hd)
		q.tensor(w, blk+"attn_k_norm.weight", hf+"self_attn.k_norm.weight", gguf.TensorF32, nil, hd)
		q.tensor(w, blk+"ffn_norm.weight", hf+"post_attention_layernorm.weight", gguf.TensorF32, nil, hidden)
		q.tensor(w, blk+"ffn_gate.weight", hf+"mlp.gate_proj.weight", typ, nil, ff, hidden)
		q.tensor(w, blk+"ffn_up.weight", hf+"mlp.up_proj.weight", typ, nil, ff, hidden)
		q.tensor(w, blk+"ffn_down.weight", hf+"mlp.down_proj.weight", typ, nil, hidden, ff)
	}
	q.tensor(w, "output_norm.weight", "norm.weight", gguf.TensorF32, nil, hidden)
	if q.reranker {
		q.writeYesNoHead(w, typ, yes, no, nVocab, hidden)
	}
	return q.finish(w)
}

// writeYesNoHead adds cls.output: the "yes" then the "no" row of the LM
// head, the order llama.cpp's own converter writes and its output labels
// name, so the first probability rank pooling returns is the score.
func (q *qwen3Family) writeYesNoHead(w *gguf.Writer, typ gguf.TensorType, yes, no, nVocab, hidden int) {
	info, ok := q.ckpt.Info(q.head)
	if !ok || len(info.Shape) != 2 || int(info.Shape[0]) != nVocab || int(info.Shape[1]) != hidden {
		if q.missing == nil {
			q.missing = fmt.Errorf("the LM head %s has shape %v, want [%d %d]", q.head, info.Shape, nVocab, hidden)
		}
		return
	}
	w.AddTensorFunc("cls.output.weight", []uint64{uint64(hidden), 2}, typ, func() ([]float32, error) {
		head, err := q.ckpt.Float32(q.head)
		if err != nil {
			return nil, err
		}
		rows := make([]float32, 0, 2*hidden)
		rows = append(rows, head[yes*hidden:(yes+1)*hidden]...)
		return append(rows, head[no*hidden:(no+1)*hidden]...), nil
	})
}
