package convert

import (
	"fmt"
	"path/filepath"

	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/vocab"
)

// llamaFamily converts Llama and Mistral decoders used as embedders
// (e5-mistral-7b-instruct: MistralModel with last-token pooling) onto
// llama.cpp's "llama" architecture, which runs both once the rotary
// layout of the query and key weights is converted.
type llamaFamily struct {
	*job
	decoder decoderConfig
	prefix  string // "model." when the checkpoint was saved from a *ForCausalLM
	pooling string
}

// decoderConfig is what config.json says about a Llama/Mistral decoder
// beyond the fields every architecture shares.
type decoderConfig struct {
	KVHeads       int            `json:"num_key_value_heads"`
	HeadDim       int            `json:"head_dim"`
	RopeTheta     float64        `json:"rope_theta"`
	RMSNormEps    float64        `json:"rms_norm_eps"`
	SlidingWindow int            `json:"sliding_window"`
	RopeScaling   map[string]any `json:"rope_scaling"`
	AttentionBias bool           `json:"attention_bias"`
	MLPBias       bool           `json:"mlp_bias"`
	// Qwen3's: its embeddings double as the LM head, and llama.cpp's
	// qwen3 has no sliding-window attention.
	TieWordEmbeddings bool `json:"tie_word_embeddings"`
	UseSlidingWindow  bool `json:"use_sliding_window"`
}

// writeDecoderShape writes the hparams every decoder architecture llama.cpp
// loads reads under its own prefix: sizes, heads and the RMS norm's epsilon.
func writeDecoderShape(w *gguf.Writer, arch string, cfg *hfConfig, dc decoderConfig) {
	w.AddKV(arch+".context_length", uint32(cfg.MaxPositionEmbeddings))
	w.AddKV(arch+".embedding_length", uint32(cfg.HiddenSize))
	w.AddKV(arch+".feed_forward_length", uint32(cfg.IntermediateSize))
	w.AddKV(arch+".block_count", uint32(cfg.NumHiddenLayers))
	w.AddKV(arch+".attention.head_count", uint32(cfg.NumAttentionHeads))
	w.AddKV(arch+".attention.head_count_kv", uint32(dc.KVHeads))
	w.AddKV(arch+".attention.layer_norm_rms_epsilon", float32(orDefault(dc.RMSNormEps, 1e-6)))
}

func newLlama(j *job) (converter, error) {
	m, err := readDecoder(j)
	if err != nil {
		return nil, err
	}
	m.pooling = j.st.Pooling
	if m.pooling == "" {
		m.pooling = "last"
		j.warn("no sentence-transformers pooling config (1_Pooling/config.json); using last-token pooling, as decoder embedders do — set pooling in the catalog if the model card says otherwise")
	}
	maxLength := j.config.MaxPositionEmbeddings
	if j.st.MaxSeqLength > 0 {
		maxLength = j.st.MaxSeqLength
	}
	if sw := m.decoder.SlidingWindow; sw > 0 && sw < maxLength {
		// llama.cpp's llama architecture has no sliding window.
		j.warn("sliding_window %d is ignored: llama.cpp attends over the whole input, so inputs longer than %d tokens embed differently from transformers; set max_length to %d to stay exact",
			sw, sw, sw)
	}
	return m, nil
}

// readDecoder reads and checks what Llama, Mistral and Qwen3 decoders
// share: config.json's shape, SwiGLU with silu, plain rotary embeddings,
// no biases, and whether the weights sit under "model.".
func readDecoder(j *job) (*llamaFamily, error) {
	m := &llamaFamily{job: j}
	if _, err := readJSON(filepath.Join(j.dir, "config.json"), &m.decoder); err != nil {
		return nil, err
	}
	cfg, dc := j.config, &m.decoder
	switch {
	case cfg.HiddenSize < 1 || cfg.NumAttentionHeads < 1 || cfg.NumHiddenLayers < 1 || cfg.IntermediateSize < 1:
		return nil, fmt.Errorf("%s config.json lacks hidden_size, num_attention_heads, num_hidden_layers or intermediate_size", j.arch)
	case cfg.HiddenAct != "" && cfg.HiddenAct != "silu":
		return nil, fmt.Errorf("hidden_act %q: llama.cpp computes these decoders' SwiGLU with silu only", cfg.HiddenAct)
	case dc.RopeScaling != nil:
		// Llama 3.1-style frequency scaling and YaRN need keys and
		// tensors this converter does not write; plain RoPE would be wrong.
		return nil, fmt.Errorf("rope_scaling %v is not supported: only plain rotary embeddings convert exactly", dc.RopeScaling)
	case dc.AttentionBias || dc.MLPBias:
		return nil, fmt.Errorf("attention_bias or mlp_bias is set: %s layers with biases are not supported", j.arch)
	}
	if dc.KVHeads == 0 {
		dc.KVHeads = cfg.NumAttentionHeads
	}
	if dc.HeadDim == 0 {
		dc.HeadDim = cfg.HiddenSize / cfg.NumAttentionHeads
	}
	if dc.RopeTheta == 0 {
		dc.RopeTheta = 10000
	}
	if cfg.NumAttentionHeads%dc.KVHeads != 0 || dc.HeadDim%2 != 0 {
		return nil, fmt.Errorf("%d attention heads, %d key/value heads of size %d: want whole groups of heads of even size",
			cfg.NumAttentionHeads, dc.KVHeads, dc.HeadDim)
	}
	if _, ok := j.ckpt.Info("model.embed_tokens.weight"); ok {
		m.prefix = "model."
	}
	if _, ok := j.ckpt.Info(m.prefix + "embed_tokens.weight"); !ok {
		return nil, fmt.Errorf("%s checkpoint has no embed_tokens.weight (with or without a model. prefix)", j.arch)
	}
	return m, nil
}

// decoderVocab checks the embedding table against config.json and reads
// the tokenizer with one token per row of it.
func (m *llamaFamily) decoderVocab() (*vocab.Vocab, int, error) {
	embed, ok := m.ckpt.Info(m.prefix + "embed_tokens.weight")
	if !ok || len(embed.Shape) != 2 || int(embed.Shape[1]) != m.config.HiddenSize {
		return nil, 0, fmt.Errorf("embed_tokens shape %v does not match hidden_size %d", embed.Shape, m.config.HiddenSize)
	}
	if m.config.MaxPositionEmbeddings < 1 {
		return nil, 0, fmt.Errorf("config.json has no max_position_embeddings: llama.cpp needs the trained context length")
	}
	nVocab := int(embed.Shape[0])
	v, err := m.loadVocab(nVocab)
	return v, nVocab, err
}

func (m *llamaFamily) write(w *gguf.Writer, typ gguf.TensorType) error {
	cfg, dc := m.config, m.decoder
	hidden, ff := cfg.HiddenSize, cfg.IntermediateSize
	v, nVocab, err := m.decoderVocab()
	if err != nil {
		return err
	}
	if m.pooling == "last" && !v.AddEOS {
		m.warn("last-token pooling, but the tokenizer appends no EOS: the embedding is the last word's state; if the model card appends </s> by hand, set add_eos_token in tokenizer_config.json and convert again")
	}

	m.writeGeneral(w, "llama", typ)
	w.AddKV("llama.vocab_size", uint32(nVocab))
	writeDecoderShape(w, "llama", cfg, dc)
	if dc.HeadDim != hidden/cfg.NumAttentionHeads {
		w.AddKV("llama.attention.key_length", uint32(dc.HeadDim))
		w.AddKV("llama.attention.value_length", uint32(dc.HeadDim))
	}
	w.AddKV("llama.rope.dimension_count", uint32(dc.HeadDim))
	w.AddKV("llama.rope.freq_base", float32(dc.RopeTheta))
	w.AddKV("llama.pooling_type", poolingTypes[m.pooling])
	if err := v.WriteGGUF(w); err != nil {
		return err
	}
	m.writeServingMetadata(w, true)

	// Tensors, in llama.cpp's order.
	q, kv := cfg.NumAttentionHeads*dc.HeadDim, dc.KVHeads*dc.HeadDim
	m.tensor(w, "token_embd.weight", "embed_tokens.weight", typ, nil, nVocab, hidden)
	for i := range cfg.NumHiddenLayers {
		hf := fmt.Sprintf("layers.%d.", i)
		blk := fmt.Sprintf("blk.%d.", i)
		m.tensor(w, blk+"attn_norm.weight", hf+"input_layernorm.weight", gguf.TensorF32, nil, hidden)
		m.tensor(w, blk+"attn_q.weight", hf+"self_attn.q_proj.weight", typ, pairRotaryRows(cfg.NumAttentionHeads, hidden), q, hidden)
		m.tensor(w, blk+"attn_k.weight", hf+"self_attn.k_proj.weight", typ, pairRotaryRows(dc.KVHeads, hidden), kv, hidden)
		m.tensor(w, blk+"attn_v.weight", hf+"self_attn.v_proj.weight", typ, nil, kv, hidden)
		m.tensor(w, blk+"attn_output.weight", hf+"self_attn.o_proj.weight", typ, nil, hidden, q)
		m.tensor(w, blk+"ffn_norm.weight", hf+"post_attention_layernorm.weight", gguf.TensorF32, nil, hidden)
		m.tensor(w, blk+"ffn_gate.weight", hf+"mlp.gate_proj.weight", typ, nil, ff, hidden)
		m.tensor(w, blk+"ffn_up.weight", hf+"mlp.up_proj.weight", typ, nil, ff, hidden)
		m.tensor(w, blk+"ffn_down.weight", hf+"mlp.down_proj.weight", typ, nil, hidden, ff)
	}
	m.tensor(w, "output_norm.weight", "norm.weight", gguf.TensorF32, nil, hidden)
	return m.finish(w)
}

// tensor adds the checkpoint tensor hfName (under the checkpoint's prefix)
// as name, checking its HF shape; transform, when not nil, rewrites its
// values. HF [out, in] is GGML ne {in, out}.
func (m *llamaFamily) tensor(w *gguf.Writer, name, hfName string, typ gguf.TensorType, transform func([]float32) []float32, shape ...int) {
	hfName = m.prefix + hfName
	info, ok := m.ckpt.Info(hfName)
	if !ok || len(info.Shape) != len(shape) {
		if m.missing == nil {
			m.missing = fmt.Errorf("the checkpoint has no %d-D tensor %s, which %s needs", len(shape), hfName, m.arch)
		}
		return
	}
	ne := make([]uint64, len(shape))
	for i, n := range shape {
		if int(info.Shape[i]) != n {
			if m.missing == nil {
				m.missing = fmt.Errorf("tensor %s has shape %v, want %v (from config.json)", hfName, info.Shape, shape)
			}
			return
		}
		ne[len(shape)-1-i] = uint64(n)
	}
	w.AddTensorFunc(name, ne, typ, func() ([]float32, error) {
		data, err := m.ckpt.Float32(hfName)
		if err != nil || transform == nil {
			return data, err
		}
		return transform(data), nil
	})
}

// pairRotaryRows returns the row permutation of a q_proj or k_proj weight
// with the given number of heads and cols inputs. Transformers' rotary embedding turns
// dimension e of a head together with e+headDim/2 (rotate_half); llama.cpp
// runs the llama architecture with its "normal" RoPE, which turns 2j
// together with 2j+1, at the same angle as HF's pair (j, j+headDim/2). So
// row s·headDim/2 + j of each head moves to row 2j + s. Attention scores
// are sums over the dimensions of q·k, which a permutation applied to both
// leaves unchanged.
func pairRotaryRows(heads, cols int) func([]float32) []float32 {
	return func(data []float32) []float32 {
		out := make([]float32, len(data))
		headDim := len(data) / cols / heads
		half := headDim / 2
		for h := range heads {
			for s := range 2 {
				for j := range half {
					src := (h*headDim + s*half + j) * cols
					dst := (h*headDim + 2*j + s) * cols
					copy(out[dst:dst+cols], data[src:src+cols])
				}
			}
		}
		return out
	}
}
