package convert

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
)

// jina-embeddings-v3 (jinaai/xlm-roberta-flash-implementation's
// XLMRobertaLoRA) is the flash layout with rotary positions instead of a
// position table, llama.cpp's "jina-bert-v3", plus one LoRA adapter per
// task on every embedding table and linear layer, stored through torch's
// parametrize: "<module>.parametrizations.weight.original" is the base
// weight, ".0.lora_A" and ".0.lora_B" stack all tasks' A and B.
//
// The adapters are kept, not merged: the base goes to the output GGUF and
// each task to a llama.cpp adapter GGUF beside it (keys.AdapterFile),
// which the engine applies per inference context. Merging would be exact
// too, but would store the 570M-parameter model once per task (five times
// the disk, five loads in memory when several tasks are served) to save
// two rank-4 products per adapted matrix at run time. The rank comes from
// the tensors, not config.json's lora_rank.

// jinaV3Config is the part of XLMRobertaFlashConfig the adapters need.
type jinaV3Config struct {
	RotaryEmbBase    float64           `json:"rotary_emb_base"`
	LoRAAdaptations  []string          `json:"lora_adaptations"`
	TaskInstructions map[string]string `json:"task_instructions"`
	LoRAAlpha        *float64          `json:"lora_alpha"`
}

type jinaV3 struct {
	*bertFamily
	extra jinaV3Config
}

func newJinaV3(j *job) (converter, error) {
	if j.arch != "XLMRobertaModel" {
		return nil, fmt.Errorf("%s with rotary positions: only the jina-embeddings-v3 embedder (XLMRobertaModel) is supported", j.arch)
	}
	pad := 1
	if j.config.PadTokenID != nil {
		pad = *j.config.PadTokenID
	}
	// XLMRobertaLoRA.encode mean-pools.
	b := &bertFamily{job: j, roberta: true, positionOffset: pad + 1, pooling: cmp.Or(j.st.Pooling, "mean")}
	m := &jinaV3{bertFamily: b}
	for _, p := range []string{"roberta.", ""} {
		if _, ok := j.ckpt.Info(p + "encoder.layers.0.mixer.Wqkv.bias"); ok {
			b.prefix = p
			break
		}
		if p == "" {
			return nil, fmt.Errorf("%s with rotary positions but no roberta.encoder.layers.0.mixer.Wqkv: only jina-embeddings-v3's flash layout is supported", j.arch)
		}
	}
	if _, err := readJSON(filepath.Join(j.dir, "config.json"), &m.extra); err != nil {
		return nil, err
	}
	if m.extra.RotaryEmbBase == 0 {
		m.extra.RotaryEmbBase = 10000 // flash-attn's RotaryEmbedding default
	}
	if n := len(m.extra.LoRAAdaptations); n > 0 {
		if _, ok := j.ckpt.Info(b.prefix + "embeddings.word_embeddings.parametrizations.weight.0.lora_A"); !ok {
			return nil, fmt.Errorf("config.json names %d LoRA tasks but the checkpoint has no %sembeddings.word_embeddings.parametrizations.weight.0.lora_A", n, b.prefix)
		}
		for _, t := range m.extra.LoRAAdaptations {
			if t == "" || strings.ContainsAny(t, `/\`) {
				return nil, fmt.Errorf("LoRA task name %q cannot name a file", t)
			}
		}
	}
	return m, nil
}

// weightName is module's weight: the parametrized original when the module
// carries adapters.
func (m *jinaV3) weightName(module string) string {
	p := m.prefix + module + ".parametrizations.weight.original"
	if _, ok := m.ckpt.Info(p); ok {
		return p
	}
	return m.prefix + module + ".weight"
}

// jinaV3Modules are the adapted linear layers, with their llama.cpp names.
var jinaV3Modules = []struct{ gguf, hf string }{
	{"attn_qkv", "mixer.Wqkv"},
	{"attn_output", "mixer.out_proj"},
	{"ffn_up", "mlp.fc1"},
	{"ffn_down", "mlp.fc2"},
}

func (m *jinaV3) write(w *gguf.Writer, typ gguf.TensorType) error {
	cfg := m.config
	words, ok := m.ckpt.Info(m.weightName("embeddings.word_embeddings"))
	if !ok || len(words.Shape) != 2 || int(words.Shape[1]) != cfg.HiddenSize {
		return fmt.Errorf("word embeddings shape %v does not match hidden_size %d", words.Shape, cfg.HiddenSize)
	}
	// Rotary positions need no table, but XLM-R's config still counts the
	// pad_token_id+1 rows a table would skip (8194 for 8192 tokens).
	nCtx := cfg.MaxPositionEmbeddings - m.positionOffset
	if nCtx < 1 {
		return fmt.Errorf("config.json: max_position_embeddings %d leaves no positions after the XLM-R offset %d", cfg.MaxPositionEmbeddings, m.positionOffset)
	}
	if err := m.writeAdapters(); err != nil {
		return err
	}
	const arch = "jina-bert-v3"
	if err := m.writeEncoderHeader(w, arch, typ, int(words.Shape[0]), nCtx, false); err != nil {
		return err
	}
	w.AddKV(arch+".rope.freq_base", float32(m.extra.RotaryEmbBase))
	if tasks := m.extra.LoRAAdaptations; len(tasks) > 0 {
		prompts := make([]string, len(tasks))
		for i, t := range tasks {
			prompts[i] = m.extra.TaskInstructions[t]
		}
		w.AddKV(keys.LoRATasks, tasks)
		w.AddKV(keys.LoRAPrompts, prompts)
		// The model card's uses: separation is its task for clustering.
		for _, r := range []struct{ key, task string }{
			{keys.LoRAQueryTask, "retrieval.query"}, {keys.LoRADocumentTask, "retrieval.passage"},
			{keys.LoRAClassificationTask, "classification"}, {keys.LoRAClusteringTask, "separation"},
		} {
			if slices.Contains(tasks, r.task) {
				w.AddKV(r.key, r.task)
			}
		}
	}
	p := m.prefix
	m.matrix(w, "token_embd.weight", m.weightName("embeddings.word_embeddings"), typ)
	m.matrix(w, "token_types.weight", m.weightName("embeddings.token_type_embeddings"), gguf.TensorF32)
	m.dense(w, "token_embd_norm", p+"emb_ln", gguf.TensorF32)
	for i := range cfg.NumHiddenLayers {
		hf, blk := fmt.Sprintf("encoder.layers.%d.", i), fmt.Sprintf("blk.%d.", i)
		for _, t := range jinaV3Modules {
			m.matrix(w, blk+t.gguf+".weight", m.weightName(hf+t.hf), typ)
			m.vector(w, blk+t.gguf+".bias", p+hf+t.hf+".bias")
		}
		m.dense(w, blk+"attn_output_norm", p+hf+"norm1", gguf.TensorF32)
		m.dense(w, blk+"layer_output_norm", p+hf+"norm2", gguf.TensorF32)
	}
	return m.finish(w)
}
