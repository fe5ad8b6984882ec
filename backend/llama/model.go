package llama

// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Pooling is how per-token states become one vector per sequence.
type Pooling int

// Values match llama.cpp's enum llama_pooling_type.
const (
	PoolingUnspecified Pooling = -1
	PoolingNone        Pooling = 0
	PoolingMean        Pooling = 1
	PoolingCLS         Pooling = 2
	PoolingLast        Pooling = 3
	PoolingRank        Pooling = 4 // classification head; n_cls_out scores per sequence
)

// ParsePooling maps catalog spellings to Pooling; "" is PoolingUnspecified.
func ParsePooling(s string) (Pooling, error) {
	switch s {
	case "":
		return PoolingUnspecified, nil
	case "none":
		return PoolingNone, nil
	case "mean":
		return PoolingMean, nil
	case "cls":
		return PoolingCLS, nil
	case "last":
		return PoolingLast, nil
	case "rank":
		return PoolingRank, nil
	}
	return PoolingUnspecified, fmt.Errorf("unknown pooling %q (want cls, mean, last or rank)", s)
}

func (p Pooling) String() string {
	switch p {
	case PoolingNone:
		return "none"
	case PoolingMean:
		return "mean"
	case PoolingCLS:
		return "cls"
	case PoolingLast:
		return "last"
	case PoolingRank:
		return "rank"
	}
	return "unspecified"
}

// ModelParams control how a GGUF is loaded.
type ModelParams struct {
	// GPULayers is how many layers to offload to GPUs; negative means all.
	// It has no effect when only the CPU backend is present.
	GPULayers int
	// VocabOnly loads the tokenizer without weights: for tokenizer tests and
	// vocab-only GGUF files such as llama.cpp's ggml-vocab-*.gguf.
	VocabOnly bool
}

// ModelInfo describes a loaded model.
type ModelInfo struct {
	Arch          string
	Embedding     int     // n_embd: width of pooled embeddings
	ClassOutputs  int     // n_cls_out: scores per sequence under rank pooling; 0 without a head
	TrainContext  int     // n_ctx_train: positions beyond this abort llama.cpp
	VocabSize     int     // valid token ids are [0, VocabSize)
	Pooling       Pooling // the GGUF's own pooling type
	Causal        bool    // decoder models (e5-mistral) keep a KV cache
	ParamBytes    uint64  // size of all weights
	BOS, EOS, SEP int32   // -1 when the vocabulary has none
}

// Model is a loaded GGUF. It is safe for concurrent use by several Contexts;
// Close must be called only after every Context made from it is closed.
type Model struct {
	c        *C.struct_llama_model
	vocab    *C.struct_llama_vocab
	Info     ModelInfo
	adapters adapterCache // lora.go
}

// clsOutputTensor is the classification head's output layer in llama.cpp's
// tensor naming; without it a model has no rank scores.
var clsOutputTensor = C.CString("cls.output.weight")

// LoadModel loads a GGUF file. Init must have been called.
func LoadModel(path string, p ModelParams) (*Model, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("cannot load model: %w", err)
	}
	params := C.llama_model_default_params()
	params.n_gpu_layers = C.int32_t(p.GPULayers)
	if p.GPULayers < 0 {
		params.n_gpu_layers = 999
	}
	params.devices = offloadDevices // SelectDevices' choice; nil: every GPU
	params.vocab_only = C.bool(p.VocabOnly)
	// Read the weights into memory instead of mapping the file: a mapped
	// file cut short while loaded (a copy over it, a pull interrupted
	// writing in place) turns the next encode's read of a missing page
	// into SIGBUS, which kills every model the process serves. The pool
	// books the whole file as memory either way.
	params.use_mmap = false
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var errs callErrors
	cm := C.rr_model_load(cpath, params, errs.buf())
	if cm == nil {
		return nil, fmt.Errorf("cannot load model %s: %s", path, errs.text("llama.cpp rejected the file (not a GGUF, or an unsupported architecture)"))
	}
	m := &Model{c: cm, vocab: C.llama_model_get_vocab(cm)}
	m.Info = ModelInfo{
		Arch:         m.Meta("general.architecture"),
		Embedding:    int(C.llama_model_n_embd(cm)),
		ClassOutputs: int(C.llama_model_n_cls_out(cm)),
		TrainContext: int(C.llama_model_n_ctx_train(cm)),
		VocabSize:    int(C.llama_vocab_n_tokens(m.vocab)),
		Causal:       bool(C.llama_model_has_decoder(cm)) && !bool(C.llama_model_has_encoder(cm)) && m.Meta(m.Meta("general.architecture")+".attention.causal") != "false",
		ParamBytes:   uint64(C.llama_model_size(cm)),
		BOS:          int32(C.llama_vocab_bos(m.vocab)),
		EOS:          int32(C.llama_vocab_eos(m.vocab)),
		SEP:          int32(C.llama_vocab_sep(m.vocab)),
		Pooling:      PoolingUnspecified,
	}
	if !C.rr_gguf_has_tensor(cpath, clsOutputTensor) {
		m.Info.ClassOutputs = 0
	}
	if v := m.Meta(m.Info.Arch + ".pooling_type"); v != "" {
		var n int
		if _, err := fmt.Sscan(v, &n); err == nil {
			m.Info.Pooling = Pooling(n)
		}
	}
	return m, nil
}

// Meta returns a GGUF metadata value as a string, "" when absent.
func (m *Model) Meta(key string) string {
	ckey := C.CString(key)
	defer C.free(unsafe.Pointer(ckey))
	buf := make([]byte, 512)
	for {
		n := C.llama_model_meta_val_str(m.c, ckey, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
		if n < 0 {
			return ""
		}
		if int(n) < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, int(n)+1)
	}
}

// Tokenize runs llama.cpp's own tokenizer. addSpecial adds the model's
// BOS/EOS/SEP as its GGUF says (e.g. [CLS] ... [SEP]); parseSpecial lets
// text such as "[SEP]" become the special token instead of plain text.
func (m *Model) Tokenize(text string, addSpecial, parseSpecial bool) ([]int32, error) {
	text = validUTF8(text)
	ctext := C.CString(text)
	defer C.free(unsafe.Pointer(ctext))
	capacity := len(text) + 8
	for {
		out := make([]C.llama_token, capacity)
		n := C.llama_tokenize(m.vocab, ctext, C.int32_t(len(text)), &out[0], C.int32_t(capacity), C.bool(addSpecial), C.bool(parseSpecial))
		if n == C.INT32_MIN {
			return nil, errors.New("tokenization overflowed int32")
		}
		if n < 0 {
			capacity = int(-n)
			continue
		}
		ids := make([]int32, n)
		for i := range ids {
			ids[i] = int32(out[i])
		}
		return ids, nil
	}
}

// validUTF8 replaces each byte of text that is not valid UTF-8 with U+FFFD.
// llama.cpp decodes UTF-8 leniently (a 0xF7 lead byte gives a code point
// past U+10FFFF) and its WordPiece tokenizer then throws
// std::invalid_argument re-encoding it (unicode_cpt_to_utf8, which other
// tokenizers call too): the exception escapes llama_tokenize and aborts
// the whole process. The server only ever passes valid UTF-8
// (encoding/json makes it so), but the CLI passes arguments as the shell
// gave them. One U+FFFD per bad byte is what encoding/json does, so the
// same bytes tokenize alike from the CLI and over HTTP.
func validUTF8(text string) string {
	if utf8.ValidString(text) {
		return text
	}
	var b strings.Builder
	b.Grow(len(text) + 8)
	for _, r := range text { // an invalid byte ranges as one utf8.RuneError
		b.WriteRune(r)
	}
	return b.String()
}

// TokenText is the vocabulary entry of a token id, "" when out of range.
func (m *Model) TokenText(id int32) string {
	if id < 0 || int(id) >= m.Info.VocabSize {
		return ""
	}
	return C.GoString(C.llama_vocab_get_text(m.vocab, C.llama_token(id)))
}

// IsControl reports whether id is a control token such as [CLS] or </s>.
func (m *Model) IsControl(id int32) bool {
	if id < 0 || int(id) >= m.Info.VocabSize {
		return false
	}
	return bool(C.llama_vocab_is_control(m.vocab, C.llama_token(id)))
}

// Detokenize is llama.cpp's inverse of Tokenize for every vocabulary type
// (WordPiece's phantom spaces, SentencePiece's "▁" and byte pieces,
// byte-level BPE), with clean_up_tokenization_spaces where the GGUF asks
// for it. special writes control tokens ([CLS], </s>) out; without it they
// are left out. An id outside the vocabulary is an error: llama.cpp would
// throw on it.
func (m *Model) Detokenize(ids []int32, special bool) (string, error) {
	if len(ids) == 0 {
		return "", nil
	}
	toks := make([]C.llama_token, len(ids))
	for i, id := range ids {
		if id < 0 || int(id) >= m.Info.VocabSize {
			return "", fmt.Errorf("token id %d is outside the vocabulary [0, %d)", id, m.Info.VocabSize)
		}
		toks[i] = C.llama_token(id)
	}
	buf := make([]byte, 8*len(ids)+16)
	for {
		n := C.llama_detokenize(m.vocab, &toks[0], C.int32_t(len(toks)), (*C.char)(unsafe.Pointer(&buf[0])), C.int32_t(len(buf)), C.bool(!special), C.bool(special))
		if n < 0 {
			buf = make([]byte, int(-n))
			continue
		}
		return string(buf[:n]), nil
	}
}

// Close frees the model's weights.
func (m *Model) Close() {
	if m.c != nil {
		C.llama_model_free(m.c)
		m.c = nil
	}
}
