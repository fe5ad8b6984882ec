package convert

import (
	"fmt"
	"path/filepath"

	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
)

// ModernBERT files use keys.ModernBERTArch, which llama.cpp does not know:
// the name, keys and tensor layout are rerank-api's own, read by
// backend/llama's ggml encoder (modernbert.c):
//
//	token_embd, token_embd_norm
//	blk.N.attn_norm (absent in layer 0, an Identity in transformers)
//	blk.N.attn_qkv (Wqkv, fused: query rows, key rows, value rows)
//	blk.N.attn_output, blk.N.ffn_norm
//	blk.N.ffn_up (Wi, fused: GELU input rows, then gate rows), blk.N.ffn_down
//	output_norm
//	cls (head.dense), cls.norm (head.norm), cls.output (classifier)
//
// Every ".bias" is optional: ModernBERT's configs switch them off.

// modernBERTConfig is ModernBertConfig's part of config.json; zero values
// take transformers' defaults.
type modernBERTConfig struct {
	HiddenActivation     string   `json:"hidden_activation"`
	NormEps              float64  `json:"norm_eps"`
	GlobalEvery          int      `json:"global_attn_every_n_layers"`
	LocalAttention       int      `json:"local_attention"`
	GlobalRopeTheta      float64  `json:"global_rope_theta"`
	LocalRopeTheta       *float64 `json:"local_rope_theta"`
	ClassifierPooling    string   `json:"classifier_pooling"`
	ClassifierActivation string   `json:"classifier_activation"`
}

type modernBERT struct {
	*job
	mc         modernBERTConfig
	prefix     string // "model." in ForSequenceClassification and ForMaskedLM checkpoints
	classifier bool
	pooling    string
	labels     []string
}

func newModernBERT(j *job) (converter, error) {
	m := &modernBERT{job: j, classifier: j.arch == "ModernBertForSequenceClassification"}
	if _, err := readJSON(filepath.Join(j.dir, "config.json"), &m.mc); err != nil {
		return nil, err
	}
	if _, ok := j.ckpt.Info("model.embeddings.tok_embeddings.weight"); ok {
		m.prefix = "model."
	}
	if m.classifier {
		m.pooling = "rank"
		rows := 0
		if info, ok := j.ckpt.Info("classifier.weight"); ok && len(info.Shape) == 2 {
			rows = int(info.Shape[0])
		}
		m.labels = labelsOf(j.config, rows)
		switch m.mc.ClassifierPooling {
		case "":
			m.mc.ClassifierPooling = "cls"
		case "cls", "mean":
		default:
			return nil, fmt.Errorf("classifier_pooling %q is not supported (want cls or mean)", m.mc.ClassifierPooling)
		}
	} else {
		m.pooling = j.st.Pooling
		if m.pooling == "" {
			m.pooling = "mean"
			j.warn("no sentence-transformers pooling config (1_Pooling/config.json); using mean pooling — set pooling in the catalog if the model card says otherwise")
		}
	}
	return m, nil
}

// geluKind maps transformers' activation names onto the two GELUs ggml has.
func geluKind(name string) (string, error) {
	switch name {
	case "", "gelu":
		return "gelu", nil // transformers' default: the exact erf form
	case "gelu_new", "gelu_pytorch_tanh", "gelu_fast":
		return "gelu_tanh", nil
	}
	return "", fmt.Errorf("activation %q is not supported (want gelu or gelu_pytorch_tanh)", name)
}

func (m *modernBERT) write(w *gguf.Writer, typ gguf.TensorType) error {
	cfg, mc := m.config, m.mc
	act, err := geluKind(mc.HiddenActivation)
	if err != nil {
		return err
	}
	headAct, err := geluKind(mc.ClassifierActivation)
	if err != nil {
		return err
	}
	emb, ok := m.ckpt.Info(m.prefix + "embeddings.tok_embeddings.weight")
	if !ok || len(emb.Shape) != 2 || int(emb.Shape[1]) != cfg.HiddenSize {
		return fmt.Errorf("%s: no embeddings.tok_embeddings of width %d", m.arch, cfg.HiddenSize)
	}
	if cfg.NumAttentionHeads < 1 || cfg.HiddenSize%cfg.NumAttentionHeads != 0 || (cfg.HiddenSize/cfg.NumAttentionHeads)%2 != 0 {
		return fmt.Errorf("%d attention heads do not split hidden_size %d into even head sizes", cfg.NumAttentionHeads, cfg.HiddenSize)
	}
	m.byteFallbackServed = true
	v, err := m.loadVocab(int(emb.Shape[0]))
	if err != nil {
		return err
	}
	globalTheta, localTheta := orDefault(mc.GlobalRopeTheta, 160000), mc.GlobalRopeTheta
	if mc.LocalRopeTheta != nil {
		localTheta = *mc.LocalRopeTheta // transformers: null means the global base
	}
	localTheta = orDefault(localTheta, globalTheta)

	const a = keys.ModernBERTArch
	m.writeGeneral(w, a, typ)
	w.AddKV(a+".context_length", uint32(orDefault(float64(cfg.MaxPositionEmbeddings), 8192)))
	w.AddKV(a+".embedding_length", uint32(cfg.HiddenSize))
	w.AddKV(a+".feed_forward_length", uint32(cfg.IntermediateSize))
	w.AddKV(a+".block_count", uint32(cfg.NumHiddenLayers))
	w.AddKV(a+".attention.head_count", uint32(cfg.NumAttentionHeads))
	w.AddKV(a+".attention.layer_norm_epsilon", float32(orDefault(mc.NormEps, 1e-5)))
	w.AddKV(a+".rope.freq_base", float32(globalTheta))
	w.AddKV(keys.ModernBERTLocalTheta, float32(localTheta))
	w.AddKV(keys.ModernBERTGlobalEvery, uint32(orDefault(float64(mc.GlobalEvery), 3)))
	w.AddKV(keys.ModernBERTWindow, uint32(orDefault(float64(mc.LocalAttention), 128)))
	w.AddKV(keys.ModernBERTActivation, act)
	w.AddKV(a+".pooling_type", poolingTypes[m.pooling])
	if m.classifier {
		w.AddKV(a+".classifier.output_labels", m.labels)
		w.AddKV(keys.ModernBERTHeadActivation, headAct)
		w.AddKV(keys.ModernBERTHeadPooling, mc.ClassifierPooling)
		w.AddKV(keys.ScoreActivation, cfg.scoreActivation(len(m.labels)))
	}
	if err := v.WriteGGUF(w); err != nil {
		return err
	}
	m.writePairTemplate(w, v.Tokens) // ruri's "<s> A </s> <s> B </s>" is neither BERT's nor RoBERTa's
	m.writeServingMetadata(w, !m.classifier)

	p := m.prefix
	m.matrix(w, "token_embd.weight", p+"embeddings.tok_embeddings.weight", typ)
	m.norm(w, "token_embd_norm", p+"embeddings.norm")
	for i := range cfg.NumHiddenLayers {
		hf, blk := fmt.Sprintf("%slayers.%d.", p, i), fmt.Sprintf("blk.%d.", i)
		if i > 0 {
			m.norm(w, blk+"attn_norm", hf+"attn_norm")
		}
		m.dense(w, blk+"attn_qkv", hf+"attn.Wqkv", typ)
		m.dense(w, blk+"attn_output", hf+"attn.Wo", typ)
		m.norm(w, blk+"ffn_norm", hf+"mlp_norm")
		m.dense(w, blk+"ffn_up", hf+"mlp.Wi", typ)
		m.dense(w, blk+"ffn_down", hf+"mlp.Wo", typ)
	}
	m.norm(w, "output_norm", p+"final_norm")
	if m.classifier {
		m.dense(w, "cls", "head.dense", typ)
		m.norm(w, "cls.norm", "head.norm")
		m.dense(w, "cls.output", "classifier", typ)
	}
	return m.finish(w)
}

// dense adds a linear layer whose bias the config may have switched off.
func (m *modernBERT) dense(w *gguf.Writer, name, hf string, typ gguf.TensorType) {
	m.matrix(w, name+".weight", hf+".weight", typ)
	if _, ok := m.ckpt.Info(hf + ".bias"); ok {
		m.vector(w, name+".bias", hf+".bias")
	}
}

// norm adds a LayerNorm, with its bias only when norm_bias kept one.
func (m *modernBERT) norm(w *gguf.Writer, name, hf string) {
	m.vector(w, name+".weight", hf+".weight")
	if _, ok := m.ckpt.Info(hf + ".bias"); ok {
		m.vector(w, name+".bias", hf+".bias")
	}
}
