package convert

import (
	"fmt"

	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
)

// writeAdapters writes one llama.cpp LoRA adapter GGUF per task, before the
// model, so that a model listing tasks never appears without them.
//
// llama.cpp computes W·x + s·B·(A·x) for a linear layer (build_lora_mm)
// and adds s·B·A[token] to a token's embedding (build_inp_embd), with
// s = adapter.lora.alpha / rank, or 1 when the adapter has no alpha. The
// adapters here carry none and hold Scaling·B instead (the lora_alpha /
// lora_rank of modeling_lora.py), because the token-type adapter has no
// place of its own: llama.cpp adds token type 0's row without adapters.
// jina-embeddings-v3 has one token type, so that adapter adds the same
// vector c = Scaling·A_type[0]·B_type to every token; it rides along as one
// more rank of the token-embedding adapter, a column of ones in A and c in
// B, exact for every token.
func (m *jinaV3) writeAdapters() error {
	for t, task := range m.extra.LoRAAdaptations {
		a := gguf.NewWriter()
		a.AddKV("general.type", "adapter")
		a.AddKV("general.architecture", "jina-bert-v3")
		a.AddKV("general.name", task)
		a.AddKV("adapter.type", "lora")
		a.AddKV("adapter.lora.task_name", task)
		a.AddKV("adapter.lora.prompt_prefix", m.extra.TaskInstructions[task])
		if err := m.addEmbeddingAdapter(a, t); err != nil {
			return err
		}
		for i := range m.config.NumHiddenLayers {
			for _, mod := range jinaV3Modules {
				module := fmt.Sprintf("%sencoder.layers.%d.%s", m.prefix, i, mod.hf)
				if err := m.addLinearAdapter(a, fmt.Sprintf("blk.%d.%s.weight", i, mod.gguf), module, t); err != nil {
					return err
				}
			}
		}
		path := keys.AdapterFile(m.opts.Output, task)
		if err := a.WriteFile(path); err != nil {
			return fmt.Errorf("adapter %s: %w", task, err)
		}
	}
	return nil
}

// scaling is modeling_lora.py's lora_alpha / lora_rank (alpha defaults to 1).
func (m *jinaV3) scaling(rank int) float32 {
	alpha := 1.0
	if m.extra.LoRAAlpha != nil {
		alpha = *m.extra.LoRAAlpha
	}
	return float32(alpha / float64(rank))
}

// loraPair reads task t's A and B of module (a parametrized weight), as
// [rows, cols] each.
func (m *jinaV3) loraPair(module string, t int) (a, b []float32, aShape, bShape [2]int, err error) {
	read := func(suffix string) ([]float32, [2]int, error) {
		name := module + ".parametrizations.weight.0." + suffix
		info, ok := m.ckpt.Info(name)
		if !ok || len(info.Shape) != 3 {
			return nil, [2]int{}, fmt.Errorf("the checkpoint has no 3-dimensional %s", name)
		}
		tasks, rows, cols := int(info.Shape[0]), int(info.Shape[1]), int(info.Shape[2])
		if tasks != len(m.extra.LoRAAdaptations) {
			return nil, [2]int{}, fmt.Errorf("%s stacks %d adapters, config.json names %d tasks", name, tasks, len(m.extra.LoRAAdaptations))
		}
		all, err := m.ckpt.Float32(name)
		if err != nil {
			return nil, [2]int{}, err
		}
		return all[t*rows*cols : (t+1)*rows*cols], [2]int{rows, cols}, nil
	}
	if a, aShape, err = read("lora_A"); err != nil {
		return
	}
	b, bShape, err = read("lora_B")
	return
}

// addLinearAdapter adds a linear layer's adapter: HF's A [rank, in] is
// GGML's lora_a {in, rank} as stored; HF's B [out, rank] is lora_b
// {rank, out}, scaled.
func (m *jinaV3) addLinearAdapter(w *gguf.Writer, name, module string, t int) error {
	a, b, as, bs, err := m.loraPair(module, t)
	if err != nil {
		return err
	}
	rank := as[0]
	if bs[1] != rank {
		return fmt.Errorf("%s: lora_A %v and lora_B %v disagree on the rank", module, as, bs)
	}
	s := m.scaling(rank)
	scaled := make([]float32, len(b))
	for i, v := range b {
		scaled[i] = s * v
	}
	w.AddTensor(name+".lora_a", []uint64{uint64(as[1]), uint64(rank)}, gguf.TensorF32, a)
	w.AddTensor(name+".lora_b", []uint64{uint64(rank), uint64(bs[0])}, gguf.TensorF32, scaled)
	return nil
}

// addEmbeddingAdapter adds the word-embedding adapter (A [vocab, rank],
// B [rank, hidden]) with the token-type adapter folded in. llama.cpp reads
// token_embd's pair flipped: lora_a {rank, vocab} holds A's rows as
// stored, lora_b {rank, hidden} holds Bᵀ.
func (m *jinaV3) addEmbeddingAdapter(w *gguf.Writer, t int) error {
	a, b, as, bs, err := m.loraPair(m.prefix+"embeddings.word_embeddings", t)
	if err != nil {
		return err
	}
	vocab, rank, hidden := as[0], as[1], bs[1]
	if bs[0] != rank || hidden != m.config.HiddenSize {
		return fmt.Errorf("word embedding adapter: lora_A %v and lora_B %v do not fit hidden_size %d", as, bs, m.config.HiddenSize)
	}
	s := m.scaling(rank)
	// c: token type 0's adapted delta, zero without a type adapter.
	c := make([]float32, hidden)
	if _, ok := m.ckpt.Info(m.prefix + "embeddings.token_type_embeddings.parametrizations.weight.0.lora_A"); ok {
		ta, tb, tas, tbs, err := m.loraPair(m.prefix+"embeddings.token_type_embeddings", t)
		if err != nil {
			return err
		}
		// Only type 0's row is folded in (texts are one segment), so
		// lora_A needs that row.
		if tas[0] < 1 || tas[1] != tbs[0] || tbs[1] != hidden {
			return fmt.Errorf("token type adapter: lora_A %v and lora_B %v do not fit hidden_size %d", tas, tbs, hidden)
		}
		ts := m.scaling(tas[1])
		for k := range tas[1] {
			for h := range hidden {
				c[h] += ts * ta[k] * tb[k*hidden+h]
			}
		}
	}
	r1 := rank + 1
	la := make([]float32, vocab*r1)
	for v := range vocab {
		copy(la[v*r1:], a[v*rank:(v+1)*rank])
		la[v*r1+rank] = 1
	}
	lb := make([]float32, hidden*r1)
	for h := range hidden {
		for k := range rank {
			lb[h*r1+k] = s * b[k*hidden+h]
		}
		lb[h*r1+rank] = c[h]
	}
	w.AddTensor("token_embd.weight.lora_a", []uint64{uint64(r1), uint64(vocab)}, gguf.TensorF32, la)
	w.AddTensor("token_embd.weight.lora_b", []uint64{uint64(r1), uint64(hidden)}, gguf.TensorF32, lb)
	return nil
}
