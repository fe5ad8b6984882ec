package testmodel

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/internal/reference"
)

// JinaV3Tasks are jina-embeddings-v3's lora_adaptations, in its order.
var JinaV3Tasks = []string{"retrieval.query", "retrieval.passage", "separation", "classification", "text-matching"}

// JinaV3Instructions are the test model's task_instructions. The real
// model's ("Represent the query for retrieving evidence documents: ", ...)
// use words the test vocabulary lacks; these use only its words, so
// ExpectedIDs tokenizes prefixed inputs.
var JinaV3Instructions = map[string]string{
	"retrieval.query":   "find the document for this query ",
	"retrieval.passage": "the document for search ",
	"separation":        "",
	"classification":    "",
	"text-matching":     "",
}

// jinaV3 constants: jina-embeddings-v3's lora_rank, lora_alpha and
// rotary_emb_base.
const (
	jinaV3Rank      = 4
	jinaV3Alpha     = 1.0
	jinaV3RopeTheta = 20000.0
	// jinaV3LoRAStd is the adapters' standard deviation: large enough that
	// Scaling·B·A (0.25·4 products) is about half of the base weights'
	// spread, so the tasks' embeddings differ by far more than the 2e-3
	// tolerance while llama.cpp's rounding stays under it.
	jinaV3LoRAStd = 0.25
)

// GenerateJinaV3 draws a jina-embeddings-v3 of cfg's shape (TypeVocab 1,
// mean pooling, the XLM-R Unigram tokenizer as cfg says), as Generate draws
// a BERT, with adapters for JinaV3Tasks of rank 4 whose A and B are both
// random (a trained adapter's are; HF initialises B to zero). It panics on
// an invalid Config.
func GenerateJinaV3(cfg Config) *reference.JinaV3 {
	if err := cfg.validate(); err != nil {
		panic("testmodel: " + err.Error())
	}
	if cfg.Classifier || cfg.TypeVocab != 1 {
		panic("testmodel: jina-embeddings-v3 test models are embedders with one token type")
	}
	g := generator{seed: cfg.Seed, std: cfg.initStd()}
	lg := generator{seed: cfg.Seed, std: jinaV3LoRAStd}
	h, ff, nt := cfg.Hidden, cfg.Intermediate, len(JinaV3Tasks)
	lora := func(name string, aRows, aCols, bRows, bCols int) reference.LoRA {
		var l reference.LoRA
		for t := range nt {
			l.A = append(l.A, lg.matrix(fmt.Sprintf("%s.lora_A.%d", name, t), aRows, aCols))
			l.B = append(l.B, lg.matrix(fmt.Sprintf("%s.lora_B.%d", name, t), bRows, bCols))
		}
		return l
	}
	linearLoRA := func(name string, out, in int) reference.LoRA { return lora(name, jinaV3Rank, in, out, jinaV3Rank) }
	vocab := len(cfg.vocab())
	m := &reference.JinaV3{
		Config: reference.Config{
			HiddenSize: h, Heads: cfg.Heads, Layers: cfg.Layers, Intermediate: ff,
			MaxPositions: cfg.MaxPositions, TypeVocab: 1, LayerNormEps: cfg.layerNormEps(),
		},
		RopeTheta:           jinaV3RopeTheta,
		WordEmbeddings:      g.matrix("embeddings.word_embeddings", vocab, h),
		TokenTypeEmbeddings: g.matrix("embeddings.token_type_embeddings", 1, h),
		EmbeddingNorm:       g.layerNorm("emb_ln", h),
		Tasks:               slices.Clone(JinaV3Tasks),
		Scaling:             jinaV3Alpha / jinaV3Rank,
		WordLoRA:            lora("embeddings.word_embeddings", vocab, jinaV3Rank, jinaV3Rank, h),
		TypeLoRA:            lora("embeddings.token_type_embeddings", 1, jinaV3Rank, jinaV3Rank, h),
	}
	for i := range cfg.Layers {
		p := fmt.Sprintf("encoder.layers.%d.", i)
		m.Layers = append(m.Layers, reference.JinaV3Layer{
			QKV:     g.dense(p+"mixer.Wqkv", 3*h, h),
			Out:     g.dense(p+"mixer.out_proj", h, h),
			Norm1:   g.layerNorm(p+"norm1", h),
			FC1:     g.dense(p+"mlp.fc1", ff, h),
			FC2:     g.dense(p+"mlp.fc2", h, ff),
			Norm2:   g.layerNorm(p+"norm2", h),
			QKVLoRA: linearLoRA(p+"mixer.Wqkv", 3*h, h),
			OutLoRA: linearLoRA(p+"mixer.out_proj", h, h),
			FC1LoRA: linearLoRA(p+"mlp.fc1", ff, h),
			FC2LoRA: linearLoRA(p+"mlp.fc2", h, ff),
		})
	}
	return m
}

// WriteJinaV3HF writes m as jinaai/jina-embeddings-v3's directory is laid
// out: config.json (XLMRobertaModel through auto_map to
// xlm-roberta-flash-implementation's modeling_lora.XLMRobertaLoRA, rotary
// positions, lora_adaptations, task_instructions), model.safetensors under
// torch parametrize's names (the base weight as
// "<module>.parametrizations.weight.original", the adapters of all tasks
// stacked as "<module>.parametrizations.weight.0.lora_A" and "lora_B"),
// sentence-transformers' files with the tasks as prompts, and XLM-R's
// Unigram tokenizer.
func WriteJinaV3HF(dir string, m *reference.JinaV3, cfg Config) error {
	if err := writeJinaV3HF(dir, m, cfg); err != nil {
		return fmt.Errorf("testmodel: %w", err)
	}
	return nil
}

func writeJinaV3HF(dir string, m *reference.JinaV3, cfg Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	if len(cfg.vocab()) != m.VocabSize() {
		return fmt.Errorf("vocabulary has %d tokens, weights %d", len(cfg.vocab()), m.VocabSize())
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "config.json"), jinaV3Config(m, cfg)); err != nil {
		return err
	}
	if err := checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), jinaV3Tensors(m, cfg), map[string]string{"format": "pt"}); err != nil {
		return err
	}
	if err := writeSentenceTransformers(dir, &reference.Weights{Config: m.Config}, cfg); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "config_sentence_transformers.json"), map[string]any{
		"prompts": JinaV3Instructions, "default_prompt_name": nil, "similarity_fn_name": "cosine",
	}); err != nil {
		return err
	}
	return writeXLMRUnigram(dir, cfg)
}

func jinaV3Config(m *reference.JinaV3, cfg Config) map[string]any {
	const impl = "jinaai/xlm-roberta-flash-implementation--"
	return map[string]any{
		"architectures": []string{"XLMRobertaModel"},
		"auto_map": map[string]string{
			"AutoConfig": impl + "configuration_xlm_roberta.XLMRobertaFlashConfig",
			"AutoModel":  impl + "modeling_lora.XLMRobertaLoRA",
		},
		"model_type":                 "xlm-roberta",
		"hidden_size":                m.HiddenSize,
		"num_hidden_layers":          len(m.Layers),
		"num_attention_heads":        m.Heads,
		"intermediate_size":          m.Intermediate,
		"max_position_embeddings":    m.MaxPositions + XLMRobertaPadTokenID + 1,
		"type_vocab_size":            1,
		"layer_norm_eps":             m.LayerNormEps,
		"hidden_act":                 "gelu",
		"vocab_size":                 m.VocabSize(),
		"pad_token_id":               XLMRobertaPadTokenID,
		"bos_token_id":               0,
		"eos_token_id":               2,
		"position_embedding_type":    "rotary",
		"rotary_emb_base":            m.RopeTheta,
		"use_flash_attn":             true,
		"lora_adaptations":           m.Tasks,
		"task_instructions":          JinaV3Instructions,
		"lora_rank":                  jinaV3Rank,
		"lora_alpha":                 jinaV3Alpha,
		"lora_dropout_p":             0.0,
		"lora_main_params_trainable": false,
		"load_trained_adapters":      true,
		"truncate_dim":               nil,
		"initializer_range":          cfg.initStd(),
		"torch_dtype":                "float32",
		"transformers_version":       "4.41.2",
	}
}

// jinaV3Tensors lays m out under the names torch.nn.utils.parametrize gives
// a module whose weight carries a LoRAParametrization.
func jinaV3Tensors(m *reference.JinaV3, cfg Config) []checkpoint.NamedTensor {
	var ts []checkpoint.NamedTensor
	add := func(name string, shape []int64, data []float32) {
		ts = append(ts, checkpoint.NamedTensor{Name: "roberta." + name, Shape: shape, DType: checkpoint.F32, Data: checkpoint.F32Bytes(data)})
	}
	stack := func(ms []reference.Matrix) ([]int64, []float32) {
		var data []float32
		for _, x := range ms {
			data = append(data, x.Data...)
		}
		return []int64{int64(len(ms)), int64(ms[0].Rows), int64(ms[0].Cols)}, data
	}
	adapted := func(module string, w reference.Matrix, l reference.LoRA) {
		p := module + ".parametrizations.weight."
		add(p+"original", []int64{int64(w.Rows), int64(w.Cols)}, w.Data)
		shape, data := stack(l.A)
		add(p+"0.lora_A", shape, data)
		shape, data = stack(l.B)
		add(p+"0.lora_B", shape, data)
	}
	vector := func(name string, v []float32) { add(name, []int64{int64(len(v))}, v) }
	dense := func(module string, d reference.Dense, l reference.LoRA) {
		adapted(module, d.Weight, l)
		vector(module+".bias", d.Bias)
	}
	norm := func(name string, ln reference.LayerNorm) {
		vector(name+".weight", ln.Weight)
		vector(name+".bias", ln.Bias)
	}
	adapted("embeddings.word_embeddings", m.WordEmbeddings, m.WordLoRA)
	adapted("embeddings.token_type_embeddings", m.TokenTypeEmbeddings, m.TypeLoRA)
	norm("emb_ln", m.EmbeddingNorm)
	for i, l := range m.Layers {
		p := fmt.Sprintf("encoder.layers.%d.", i)
		dense(p+"mixer.Wqkv", l.QKV, l.QKVLoRA)
		dense(p+"mixer.out_proj", l.Out, l.OutLoRA)
		norm(p+"norm1", l.Norm1)
		dense(p+"mlp.fc1", l.FC1, l.FC1LoRA)
		dense(p+"mlp.fc2", l.FC2, l.FC2LoRA)
		norm(p+"norm2", l.Norm2)
	}
	// XLMRobertaLoRA builds the pooler too (add_pooling_layer), adapters
	// and all; embedders never use it, so it is random, from its own
	// stream.
	g := generator{seed: cfg.Seed, std: cfg.initStd()}
	pooler := g.dense("hf.pooler", m.HiddenSize, m.HiddenSize)
	lg := generator{seed: cfg.Seed, std: jinaV3LoRAStd}
	var pl reference.LoRA
	for t := range m.Tasks {
		pl.A = append(pl.A, lg.matrix(fmt.Sprintf("hf.pooler.lora_A.%d", t), jinaV3Rank, m.HiddenSize))
		pl.B = append(pl.B, lg.matrix(fmt.Sprintf("hf.pooler.lora_B.%d", t), m.HiddenSize, jinaV3Rank))
	}
	dense("pooler.dense", pooler, pl)
	return ts
}
