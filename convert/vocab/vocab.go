package vocab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rerank-api/rerank-api/convert/gguf"
)

// Token types: llama.cpp's enum llama_token_type, which uses the same
// numbers as SentencePiece's ModelProto.SentencePiece.Type.
const (
	TypeNormal      int32 = 1
	TypeUnknown     int32 = 2
	TypeControl     int32 = 3
	TypeUserDefined int32 = 4
	TypeUnused      int32 = 5
	TypeByte        int32 = 6
)

// Tokenizer models, the values of tokenizer.ggml.model.
const (
	ModelWPM = "bert"  // WordPiece, in llama.cpp's phantom-space form
	ModelUGM = "t5"    // SentencePiece unigram
	ModelSPM = "llama" // SentencePiece BPE with byte fallback
	ModelBPE = "gpt2"  // byte-level BPE (GPT-2, Qwen): merges and a pre-tokenizer
)

// Vocab is a tokenizer as llama.cpp loads it from GGUF metadata.
type Vocab struct {
	Model  string    // ModelWPM, ModelUGM, ModelSPM or ModelBPE
	Tokens []string  // by id
	Scores []float32 // by id; nil for WPM and BPE, which have none
	Types  []int32   // by id: TypeNormal, TypeControl, ...
	// Merges ("a b", by rank) and Pre (tokenizer.ggml.pre, the name of
	// the splitting expression llama.cpp applies first) are BPE's.
	Merges []string
	Pre    string

	// Special token ids, -1 when the vocabulary has none. For WPM, BOS is
	// [CLS]: llama.cpp prepends BOS and appends SEP.
	BOS, EOS, UNK, SEP, PAD, CLS, MASK int32
	// What llama_tokenize(add_special=true) adds around a text. llama.cpp's
	// WPM always adds BOS and SEP whatever these say.
	AddBOS, AddEOS, AddSEP bool

	// SentencePiece normalization, read by llama.cpp's UGM tokenizer: the
	// normalizer's precompiled charsmap (NFKC and the like), whether "▁" is
	// prepended to the text, and whether runs of whitespace collapse.
	PrecompiledCharsmap    []byte
	AddSpacePrefix         bool
	RemoveExtraWhitespaces bool

	// Lowercase records whether the source tokenizer lowercases (WordPiece
	// do_lower_case). llama.cpp's WPM lowercases regardless, so a cased
	// model converts with a warning.
	Lowercase bool

	// Source is the file the vocabulary was read from.
	Source string
	// Warnings say where llama.cpp will tokenize differently from the
	// source tokenizer; the conversion itself succeeded.
	Warnings []string
}

// FromDir reads the tokenizer of a Hugging Face model directory. It prefers
// tokenizer.json (WordPiece, Unigram, or SentencePiece-style BPE), then
// vocab.txt (WordPiece), then a SentencePiece model (sentencepiece.bpe.model,
// tokenizer.model, spiece.model). tokenizer_config.json,
// special_tokens_map.json and config.json refine special tokens, flags and
// the vocabulary size when present.
func FromDir(dir string) (*Vocab, error) {
	cfg, err := readConfigs(dir)
	if err != nil {
		return nil, err
	}
	var v *Vocab
	path, name := findSource(dir)
	switch name {
	case "tokenizer.json":
		v, err = fromTokenizerJSON(path, cfg)
	case "vocab.txt":
		v, err = fromVocabTxt(path, cfg)
	case "":
		return nil, fmt.Errorf("vocab: %s has no tokenizer.json, vocab.txt, sentencepiece.bpe.model, tokenizer.model or spiece.model; download the model's tokenizer files too", dir)
	default:
		v, err = fromSentencePieceFile(path, cfg)
	}
	if err != nil {
		return nil, err
	}
	v.Source = path
	if cfg.vocabSize > len(v.Tokens)+maxPadding {
		return nil, fmt.Errorf("vocab: config.json vocab_size %d is %d more than the tokenizer's %d tokens; checkpoints pad their embeddings by at most %d rows", cfg.vocabSize, cfg.vocabSize-len(v.Tokens), len(v.Tokens), maxPadding)
	}
	if cfg.vocabSize < len(v.Tokens) && cfg.vocabSize > 0 {
		v.warnf("config.json vocab_size %d is smaller than the tokenizer's %d tokens: ids from %d up have no embedding", cfg.vocabSize, len(v.Tokens), cfg.vocabSize)
	}
	v.PadTo(cfg.vocabSize)
	if err := v.Validate(); err != nil {
		return nil, fmt.Errorf("vocab: %s: %w", v.Source, err)
	}
	return v, nil
}

// maxPadding caps how far config.json's vocab_size may exceed the
// tokenizer's tokens. Checkpoints round their embedding table up (T5:
// 32100 tokens, 32128 rows; GPT-NeoX: 50277, 50432; Qwen2: 151646,
// 151936); a larger gap is a corrupt file, which would otherwise have
// FromDir build millions of placeholder tokens.
const maxPadding = 1 << 16

// sources lists the tokenizer files FromDir understands, best first.
var sources = []string{"tokenizer.json", "vocab.txt", "sentencepiece.bpe.model", "tokenizer.model", "spiece.model"}

func findSource(dir string) (path, name string) {
	for _, name := range sources {
		path := filepath.Join(dir, name)
		if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
			return path, name
		}
	}
	return "", ""
}

// PadTo appends unused placeholder tokens "[PAD<id>]" until the vocabulary
// has n tokens, as convert_hf_to_gguf.py does: checkpoints often round the
// embedding table up, and llama.cpp wants one token per row. FromDir pads
// to config.json's vocab_size; a converter that finds more rows in the
// checkpoint pads further.
func (v *Vocab) PadTo(n int) {
	for i := len(v.Tokens); i < n; i++ {
		v.Tokens = append(v.Tokens, fmt.Sprintf("[PAD%d]", i))
		v.Types = append(v.Types, TypeUnused)
		if v.Scores != nil {
			v.Scores = append(v.Scores, -10000)
		}
	}
}

func (v *Vocab) warnf(format string, args ...any) {
	v.Warnings = append(v.Warnings, fmt.Sprintf(format, args...))
}

// Validate checks what llama.cpp would otherwise reject or, worse, abort
// the process on: a duplicate token text fails a GGML_ASSERT while loading.
func (v *Vocab) Validate() error {
	switch v.Model {
	case ModelWPM, ModelUGM, ModelSPM, ModelBPE:
	default:
		return fmt.Errorf("unknown tokenizer model %q (want %q, %q, %q or %q)", v.Model, ModelWPM, ModelUGM, ModelSPM, ModelBPE)
	}
	n := len(v.Tokens)
	if n == 0 {
		return errors.New("empty vocabulary")
	}
	if len(v.Types) != n || (v.Scores != nil && len(v.Scores) != n) {
		return fmt.Errorf("%d tokens but %d types and %d scores", n, len(v.Types), len(v.Scores))
	}
	if v.Model == ModelBPE && (len(v.Merges) == 0 || v.Pre == "") {
		return errors.New("a byte-level BPE vocabulary needs merges and a pre-tokenizer name")
	}
	if (v.Model == ModelUGM || v.Model == ModelSPM) && v.Scores == nil {
		return fmt.Errorf("a %q vocabulary needs scores", v.Model)
	}
	seen := make(map[string]int, n)
	for i, tok := range v.Tokens {
		if tok == "" {
			return fmt.Errorf("token %d is empty", i)
		}
		if j, dup := seen[tok]; dup {
			return fmt.Errorf("tokens %d and %d are both %q (llama.cpp aborts on duplicate tokens)", j, i, tok)
		}
		seen[tok] = i
		if t := v.Types[i]; t < TypeNormal || t > TypeByte {
			return fmt.Errorf("token %d %q has type %d, want 1..6", i, tok, t)
		}
	}
	for _, s := range v.specials() {
		if s.id < -1 || int(s.id) >= n {
			return fmt.Errorf("%s id %d is outside the vocabulary of %d tokens", s.key, s.id, n)
		}
	}
	return nil
}

type special struct {
	key string
	id  int32
}

func (v *Vocab) specials() []special {
	return []special{
		{"tokenizer.ggml.bos_token_id", v.BOS},
		{"tokenizer.ggml.eos_token_id", v.EOS},
		{"tokenizer.ggml.unknown_token_id", v.UNK},
		{"tokenizer.ggml.seperator_token_id", v.SEP}, // llama.cpp's spelling
		{"tokenizer.ggml.padding_token_id", v.PAD},
		{"tokenizer.ggml.cls_token_id", v.CLS},
		{"tokenizer.ggml.mask_token_id", v.MASK},
	}
}

// WriteGGUF adds the tokenizer.ggml.* metadata to w, with the value types
// llama.cpp reads (it rejects a file whose types differ). It returns
// Validate's error and then adds nothing. tokenizer.ggml.token_type_count,
// which sizes BERT's token-type embeddings, is the model's business and
// left to the caller.
//
// add_bos_token and add_eos_token are always written; add_sep_token when
// true. add_space_prefix and remove_extra_whitespaces are always written for
// UGM, whose llama.cpp defaults (false) differ from SentencePiece's; for SPM
// only add_space_prefix, and only when false, since llama.cpp's SPM assumes
// true and ignores the rest.
func (v *Vocab) WriteGGUF(w *gguf.Writer) error {
	if err := v.Validate(); err != nil {
		return fmt.Errorf("vocab: %w", err)
	}
	w.AddKV("tokenizer.ggml.model", v.Model)
	// Only BPE ("gpt2") vocabularies have pre-tokenizers.
	pre := "default"
	if v.Model == ModelBPE {
		pre = v.Pre
	}
	w.AddKV("tokenizer.ggml.pre", pre)
	w.AddKV("tokenizer.ggml.tokens", v.Tokens)
	if v.Scores != nil {
		w.AddKV("tokenizer.ggml.scores", v.Scores)
	}
	w.AddKV("tokenizer.ggml.token_type", v.Types)
	if v.Model == ModelBPE {
		w.AddKV("tokenizer.ggml.merges", v.Merges)
	}
	for _, s := range v.specials() {
		if s.id >= 0 {
			w.AddKV(s.key, uint32(s.id))
		}
	}
	w.AddKV("tokenizer.ggml.add_bos_token", v.AddBOS)
	w.AddKV("tokenizer.ggml.add_eos_token", v.AddEOS)
	if v.AddSEP {
		w.AddKV("tokenizer.ggml.add_sep_token", true)
	}
	switch v.Model {
	case ModelUGM:
		w.AddKV("tokenizer.ggml.add_space_prefix", v.AddSpacePrefix)
		w.AddKV("tokenizer.ggml.remove_extra_whitespaces", v.RemoveExtraWhitespaces)
	case ModelSPM:
		if !v.AddSpacePrefix {
			w.AddKV("tokenizer.ggml.add_space_prefix", false)
		}
	}
	if len(v.PrecompiledCharsmap) > 0 {
		w.AddKV("tokenizer.ggml.precompiled_charsmap", v.PrecompiledCharsmap)
	}
	return nil
}

// index maps token texts to ids.
func (v *Vocab) index() map[string]int32 {
	m := make(map[string]int32, len(v.Tokens))
	for i, tok := range v.Tokens {
		if _, dup := m[tok]; !dup {
			m[tok] = int32(i)
		}
	}
	return m
}
