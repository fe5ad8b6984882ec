package reference

import (
	"fmt"
	"slices"
)

// JinaV3 is jina-embeddings-v3 (jinaai/xlm-roberta-flash-implementation's
// XLMRobertaLoRA): XLM-RoBERTa's post-LayerNorm layers with a fused
// query/key/value matrix, rotary positions instead of a position table, and
// one low-rank adapter per task on every embedding table and linear layer
// (modeling_lora.py's LoRAParametrization). A task's weights are the base
// weights plus Scaling·B·A for a linear layer and Scaling·A·B for an
// embedding table; no task uses the base weights alone.
type JinaV3 struct {
	// Config as BERT's; MaxPositions only bounds Hidden's input, since
	// rotary positions have no table.
	Config
	RopeTheta           float64 // rotary_emb_base
	WordEmbeddings      Matrix  // [vocab, hidden]
	TokenTypeEmbeddings Matrix  // [TypeVocab, hidden]
	EmbeddingNorm       LayerNorm
	Layers              []JinaV3Layer
	// Tasks are lora_adaptations, in adapter order.
	Tasks   []string
	Scaling float64 // lora_alpha / lora_rank
	// WordLoRA and TypeLoRA adapt the embedding tables: A [rows, rank], B
	// [rank, hidden], one pair per task.
	WordLoRA, TypeLoRA LoRA
}

// JinaV3Layer is one flash-layout Block with the adapters of its linear
// layers.
type JinaV3Layer struct {
	QKV      Dense // mixer.Wqkv: [3·hidden, hidden], rows Q then K then V
	Out      Dense // mixer.out_proj
	Norm1    LayerNorm
	FC1, FC2 Dense // mlp.fc1 [intermediate, hidden], mlp.fc2
	Norm2    LayerNorm
	// QKVLoRA, OutLoRA, FC1LoRA and FC2LoRA: A [rank, in], B [out, rank].
	QKVLoRA, OutLoRA, FC1LoRA, FC2LoRA LoRA
}

// LoRA holds one module's adapters, A[t] and B[t] for task t, in HF's
// layout for that module.
type LoRA struct {
	A, B []Matrix
}

// VocabSize is the number of token ids the model accepts.
func (m *JinaV3) VocabSize() int { return m.WordEmbeddings.Rows }

// TaskIndex returns task's adapter index, or -1 for "" (the base weights,
// as XLMRobertaLoRA.encode without a task).
func (m *JinaV3) TaskIndex(task string) int {
	if task == "" {
		return -1
	}
	i := slices.Index(m.Tasks, task)
	if i < 0 {
		panic(fmt.Sprintf("reference: task %q is none of %v", task, m.Tasks))
	}
	return i
}

// Hidden returns the last hidden state of every token of one sequence under
// task's adapters ("" for none), all of token type 0.
func (m *JinaV3) Hidden(tokens []int32, task string) [][]float64 {
	t := m.TaskIndex(task)
	ops := &Weights{Config: m.Config, WordEmbeddings: m.WordEmbeddings}
	ops.check(tokens, nil)
	typ := m.embeddingRow(m.TokenTypeEmbeddings, m.TypeLoRA, t, 0)
	x := make([][]float64, len(tokens))
	for i, id := range tokens {
		e := m.embeddingRow(m.WordEmbeddings, m.WordLoRA, t, int(id))
		for j := range e {
			e[j] += typ[j]
		}
		x[i] = ops.layerNorm(e, m.EmbeddingNorm)
	}
	for l := range m.Layers {
		x = m.layer(ops, &m.Layers[l], t, x)
	}
	return x
}

// embeddingRow is row r of table under adapter t: W[r] + Scaling·A[r]·B.
func (m *JinaV3) embeddingRow(table Matrix, lora LoRA, t, r int) []float64 {
	row := widen(table.Row(r))
	if t < 0 {
		return row
	}
	a, b := lora.A[t], lora.B[t]
	for k := range a.Cols {
		ak := m.Scaling * float64(a.Row(r)[k])
		for j, v := range b.Row(k) {
			row[j] += ak * float64(v)
		}
	}
	return row
}

// adapted returns d·x + Scaling·B·(A·x) under adapter t.
func (m *JinaV3) adapted(d *Dense, lora LoRA, t int, x []float64) []float64 {
	y := linear(d, x)
	if t < 0 {
		return y
	}
	ax := matVec(lora.A[t], x)
	bx := matVec(lora.B[t], ax)
	for i := range y {
		y[i] += m.Scaling * bx[i]
	}
	return y
}

func (m *JinaV3) layer(ops *Weights, l *JinaV3Layer, t int, x [][]float64) [][]float64 {
	n, h := len(x), m.HiddenSize
	hd := h / m.Heads
	q, k, v := make([][]float64, n), make([][]float64, n), make([][]float64, n)
	for i := range x {
		qkv := m.adapted(&l.QKV, l.QKVLoRA, t, x[i])
		q[i], k[i], v[i] = qkv[:h], qkv[h:2*h], qkv[2*h:]
		// flash-attn's RotaryEmbedding (not interleaved) on every
		// dimension: rotate_half pairs, positions from 0.
		for head := range m.Heads {
			rotate(q[i][head*hd:(head+1)*hd], i, m.RopeTheta)
			rotate(k[i][head*hd:(head+1)*hd], i, m.RopeTheta)
		}
	}
	contexts := selfAttention(q, k, v, m.Heads, nil)
	out := make([][]float64, n)
	for i := range x {
		attn := m.adapted(&l.Out, l.OutLoRA, t, contexts[i])
		for d := range attn {
			attn[d] += x[i][d]
		}
		attn = ops.layerNorm(attn, l.Norm1)
		ff := m.adapted(&l.FC1, l.FC1LoRA, t, attn)
		for d := range ff {
			ff[d] = ops.gelu(ff[d])
		}
		ff = m.adapted(&l.FC2, l.FC2LoRA, t, ff)
		for d := range ff {
			ff[d] += attn[d]
		}
		out[i] = ops.layerNorm(ff, l.Norm2)
	}
	return out
}
