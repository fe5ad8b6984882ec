package llama

// #include <stdlib.h>
// #include "modernbert.h"
import "C"

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
)

// ModernBERT is a model of architecture keys.ModernBERTArch, which
// llama.cpp lacks: its graph is rerank-api's own (modernbert.c) on the same
// ggml and devices, and its tokenizer is llama.cpp's, loaded from the same
// GGUF's tokenizer keys. Safe for concurrent use by several contexts; Close
// only after every context made from it is closed.
type ModernBERT struct {
	c     *C.struct_rr_mb_model
	hp    C.struct_rr_mb_hparams
	meta  *gguf.Metadata
	vocab *Model // llama.cpp's tokenizer, without weights
	// bytes replaces llama.cpp's tokenizer where the vocabulary falls
	// back to byte pieces (modernbert_tokenize.go); nil otherwise.
	bytes *byteFallback
	Info  ModelInfo
}

// IsModernBERT reports whether the GGUF at path is a ModernBERT, reading
// only its header.
func IsModernBERT(path string) bool {
	meta, err := gguf.ReadMetadata(path)
	if err != nil {
		return false
	}
	arch, _ := meta.Value("general.architecture")
	return arch == keys.ModernBERTArch
}

// LoadModernBERT loads a ModernBERT GGUF. Its weights go to the first GPU
// when p.GPULayers is not 0 and ggml has one (the encoder does not split
// layers across devices), else to the CPU. Init must have been called.
func LoadModernBERT(path string, p ModelParams) (*ModernBERT, error) {
	meta, err := gguf.ReadMetadata(path)
	if err != nil {
		return nil, fmt.Errorf("cannot load model: %w", err)
	}
	m := &ModernBERT{meta: meta}
	if err := m.readHyperparameters(); err != nil {
		return nil, fmt.Errorf("cannot load model %s: %w", path, err)
	}
	if m.vocab, err = loadVocabOnly(meta, m.hp); err != nil {
		return nil, fmt.Errorf("cannot load model %s: %w", path, err)
	}
	if int(m.hp.n_vocab) != m.vocab.Info.VocabSize {
		m.vocab.Close()
		return nil, fmt.Errorf("cannot load model %s: %d tokens in the vocabulary, llama.cpp read %d", path, m.hp.n_vocab, m.vocab.Info.VocabSize)
	}
	m.bytes = newByteFallback(meta)
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	errBuf := make([]byte, C.RR_MB_ERR_SIZE)
	var nCls C.int32_t
	m.c = C.rr_mb_load(cpath, &m.hp, C.bool(p.GPULayers != 0), &nCls, (*C.char)(unsafe.Pointer(&errBuf[0])))
	if m.c == nil {
		m.vocab.Close()
		return nil, fmt.Errorf("cannot load model %s: %s", path, cString(errBuf))
	}
	v := m.vocab.Info
	m.Info = ModelInfo{
		Arch: keys.ModernBERTArch, Embedding: int(m.hp.n_embd), ClassOutputs: int(nCls),
		TrainContext: m.metaInt(keys.ModernBERTArch + ".context_length"), VocabSize: v.VocabSize,
		Pooling: PoolingUnspecified, ParamBytes: uint64(C.rr_mb_size(m.c)), BOS: v.BOS, EOS: v.EOS, SEP: v.SEP,
	}
	if pooling, ok := m.meta.Value(keys.ModernBERTArch + ".pooling_type"); ok {
		if n, ok := uintValue(pooling); ok {
			m.Info.Pooling = Pooling(n)
		}
	}
	return m, nil
}

// readHyperparameters fills m.hp from the metadata and checks every value
// the graph relies on, since a wrong one would reach ggml's asserts.
func (m *ModernBERT) readHyperparameters() error {
	const a = keys.ModernBERTArch
	ints := map[string]*C.int32_t{
		a + ".embedding_length": &m.hp.n_embd, a + ".attention.head_count": &m.hp.n_head,
		a + ".block_count": &m.hp.n_layer, a + ".feed_forward_length": &m.hp.n_ff,
		keys.ModernBERTGlobalEvery: &m.hp.global_every,
	}
	for key, dst := range ints {
		n := m.metaInt(key)
		if n < 1 {
			return fmt.Errorf("GGUF key %s is missing or not a positive integer", key)
		}
		*dst = C.int32_t(n)
	}
	window := m.metaInt(keys.ModernBERTWindow)
	if window < 0 || m.metaInt(a+".context_length") < 1 {
		return fmt.Errorf("GGUF keys %s and %s.context_length must be valid", keys.ModernBERTWindow, a)
	}
	m.hp.window_half = C.int32_t(window / 2)
	if m.hp.n_embd%m.hp.n_head != 0 || (m.hp.n_embd/m.hp.n_head)%2 != 0 {
		return fmt.Errorf("%d heads do not split width %d into even head sizes", m.hp.n_head, m.hp.n_embd)
	}
	floats := map[string]*C.float{
		a + ".attention.layer_norm_epsilon": &m.hp.eps, a + ".rope.freq_base": &m.hp.theta_global,
		keys.ModernBERTLocalTheta: &m.hp.theta_local,
	}
	for key, dst := range floats {
		v, ok := m.meta.Value(key)
		f, isFloat := v.(float32)
		if !ok || !isFloat || !(f > 0) {
			return fmt.Errorf("GGUF key %s is missing or not a positive float32", key)
		}
		*dst = C.float(f)
	}
	for key, dst := range map[string]*C.bool{keys.ModernBERTActivation: &m.hp.gelu_tanh, keys.ModernBERTHeadActivation: &m.hp.head_gelu_tanh} {
		switch act := m.Meta(key); act {
		case "gelu", "":
			*dst = false
		case "gelu_tanh":
			*dst = true
		default:
			return fmt.Errorf("GGUF key %s is %q, want gelu or gelu_tanh", key, act)
		}
	}
	m.hp.head_mean = m.Meta(keys.ModernBERTHeadPooling) == "mean"
	tokens, _ := m.meta.Value("tokenizer.ggml.tokens")
	list, ok := tokens.([]string)
	if !ok || len(list) == 0 {
		return errors.New("the GGUF has no tokenizer.ggml.tokens")
	}
	m.hp.n_vocab = C.int32_t(len(list))
	return nil
}

// loadVocabOnly loads the model's tokenizer with llama.cpp, which refuses
// architectures it does not know even for a vocabulary: the tokenizer keys
// are copied into a temporary "bert" GGUF without tensors, and loaded
// vocabulary-only from there.
func loadVocabOnly(meta *gguf.Metadata, hp C.struct_rr_mb_hparams) (*Model, error) {
	w := gguf.NewWriter()
	w.AddKV("general.architecture", "bert")
	w.AddKV("bert.context_length", uint32(1))
	w.AddKV("bert.embedding_length", uint32(hp.n_embd))
	w.AddKV("bert.feed_forward_length", uint32(hp.n_ff))
	w.AddKV("bert.block_count", uint32(hp.n_layer))
	w.AddKV("bert.attention.head_count", uint32(hp.n_head))
	w.AddKV("bert.attention.layer_norm_epsilon", float32(hp.eps))
	for _, kv := range meta.KVs {
		if len(kv.Key) > 10 && kv.Key[:10] == "tokenizer." {
			w.AddKV(kv.Key, kv.Value)
		}
	}
	f, err := os.CreateTemp("", "rerank-api-vocab-*.gguf")
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	f.Close()
	defer os.Remove(f.Name())
	if err := w.WriteFile(f.Name()); err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return LoadModel(f.Name(), ModelParams{VocabOnly: true})
}

// Meta returns a metadata value formatted as llama_model_meta_val_str
// formats scalars, "" when absent.
func (m *ModernBERT) Meta(key string) string {
	v, ok := m.meta.Value(key)
	if !ok {
		return ""
	}
	return fmt.Sprint(v)
}

func (m *ModernBERT) metaInt(key string) int {
	v, _ := m.meta.Value(key)
	n, ok := uintValue(v)
	if !ok || n > 1<<30 {
		return -1
	}
	return int(n)
}

func uintValue(v any) (uint64, bool) {
	switch n := v.(type) {
	case uint32:
		return uint64(n), true
	case uint64:
		return n, true
	case int32:
		return uint64(n), n >= 0
	case int64:
		return uint64(n), n >= 0
	}
	return 0, false
}

// Tokenize is llama.cpp's unless the vocabulary falls back to bytes and no
// special token is to be parsed; TokenText, IsControl and Detokenize are
// llama.cpp's, as for every other model.
func (m *ModernBERT) Tokenize(text string, addSpecial, parseSpecial bool) ([]int32, error) {
	if m.bytes != nil && !parseSpecial {
		return m.bytes.encode(text, addSpecial), nil
	}
	return m.vocab.Tokenize(text, addSpecial, parseSpecial)
}

func (m *ModernBERT) TokenText(id int32) string { return m.vocab.TokenText(id) }

func (m *ModernBERT) IsControl(id int32) bool { return m.vocab.IsControl(id) }

func (m *ModernBERT) Detokenize(ids []int32, special bool) (string, error) {
	return m.vocab.Detokenize(ids, special)
}

// Close frees the weights and the tokenizer.
func (m *ModernBERT) Close() {
	if m.c != nil {
		C.rr_mb_free(m.c)
		m.c = nil
		m.vocab.Close()
	}
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
