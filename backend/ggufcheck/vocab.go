package ggufcheck

import (
	"fmt"
	"strconv"

	"github.com/rerank-api/rerank-api/convert/gguf"
)

// vocab is a file's tokenizer vocabulary.
type vocab struct {
	model  string
	tokens []string
}

// specialDefaults are the ids llama-vocab.cpp assumes for each tokenizer
// model when the file names none (-1: no such token). A default outside a
// smaller vocabulary is used as it is, and the first lookup of it throws
// through the C API, which aborts the process.
var specialDefaults = map[string]map[string]int64{
	"llama": {"bos": 1, "eos": 2, "unknown": 0},
	"bert":  {"bos": 101, "unknown": 100, "seperator": 102, "padding": 0, "mask": 103},
	"gpt2":  {"bos": 11, "eos": 11},
	"t5":    {"eos": 1, "unknown": 2, "padding": 0},
}

// specialKinds are the tokenizer.ggml.<kind>_token_id keys llama.cpp reads
// (seperator is its spelling).
var specialKinds = []string{"bos", "eos", "eot", "eom", "unknown", "seperator", "padding", "mask", "cls",
	"fim_pre", "fim_suf", "fim_mid", "fim_pad", "fim_rep", "fim_sep", "prefix", "suffix", "middle"}

// readVocab checks the arrays llama.cpp indexes by token id without
// checking their length or type (scores, token types: a short array is
// read past its end; a string array behind gguf_get_arr_data is a
// GGML_ASSERT), the uniqueness it asserts, and the special-token ids.
func readVocab(m *gguf.Metadata) (*vocab, error) {
	model, err := str(m, "tokenizer.ggml.model", true)
	if err != nil {
		return nil, err
	}
	if model == "none" || model == "no_vocab" {
		return nil, nil
	}
	v, ok := m.Value("tokenizer.ggml.tokens")
	tokens, isStrings := v.([]string)
	if !ok || !isStrings || len(tokens) == 0 {
		return nil, fmt.Errorf("tokenizer.ggml.tokens is missing or not a list of strings")
	}
	if len(tokens) > 1<<31-1 {
		return nil, fmt.Errorf("the vocabulary has %d tokens, more than a token id holds", len(tokens))
	}
	// llama.cpp renames an empty token "[EMPTY_<id>]" and then asserts that
	// no two texts are equal.
	seen := make(map[string]bool, len(tokens))
	for i, t := range tokens {
		if t == "" {
			t = "[EMPTY_" + strconv.Itoa(i) + "]"
		}
		if seen[t] {
			return nil, fmt.Errorf("token %d (%q) repeats an earlier token's text", i, clip(t))
		}
		seen[t] = true
	}
	n := len(tokens)
	if err := arrayOf[float32](m, "tokenizer.ggml.scores", n); err != nil {
		return nil, err
	}
	if err := arrayOf[int32](m, "tokenizer.ggml.token_type", n); err != nil {
		return nil, err
	}
	if err := arrayOf[string](m, "tokenizer.ggml.merges", -1); err != nil {
		return nil, err
	}
	if v, ok := m.Value("tokenizer.ggml.precompiled_charsmap"); ok {
		if _, isString := v.(string); isString {
			return nil, fmt.Errorf("tokenizer.ggml.precompiled_charsmap is a string, want a byte array")
		}
		if _, isStrings := v.([]string); isStrings {
			return nil, fmt.Errorf("tokenizer.ggml.precompiled_charsmap is a list of strings, want a byte array")
		}
	}
	if err := checkBytes(model, tokens, m); err != nil {
		return nil, err
	}
	for _, kind := range specialKinds {
		key := "tokenizer.ggml." + kind + "_token_id"
		id, err := uint32Key(m, key, false)
		if err != nil {
			return nil, err
		}
		if _, given := m.Value(key); given && id >= uint64(n) {
			return nil, fmt.Errorf("%s = %d is outside the %d-token vocabulary", key, id, n)
		}
		if def, ok := specialDefaults[model][kind]; ok && !hasKey(m, key) && def >= int64(n) {
			return nil, fmt.Errorf("%s is not set and llama.cpp's default for a %q vocabulary, %d, is outside its %d tokens", key, model, def, n)
		}
	}
	return &vocab{model: model, tokens: tokens}, nil
}

// arrayOf checks that key, when present, is an array of T with n elements
// (any length when n is negative).
func arrayOf[T any](m *gguf.Metadata, key string, n int) error {
	v, ok := m.Value(key)
	if !ok {
		return nil
	}
	a, isT := v.([]T)
	if !isT {
		var zero T
		return fmt.Errorf("%s is a %T, want a list of %T", key, v, zero)
	}
	if n >= 0 && len(a) != n {
		return fmt.Errorf("%s has %d entries for %d tokens", key, len(a), n)
	}
	return nil
}

// tokenTypeByte is LLAMA_TOKEN_TYPE_BYTE.
const tokenTypeByte = 6

// checkBytes checks the byte tokens llama.cpp decodes and falls back to.
// Decoding a byte-typed token aborts in a WordPiece or byte-level BPE
// vocabulary (token_to_byte's GGML_ABORT) and reads the hex digits at
// text[3:5] in SentencePiece ones (std::out_of_range when shorter, which
// terminates the process). SentencePiece BPE ("llama") spells a piece it
// has no token for byte by byte, looking each byte up as "<0xXX>" or as
// itself with unordered_map::at: a vocabulary missing one throws on the
// first text that needs it.
func checkBytes(model string, tokens []string, m *gguf.Metadata) error {
	v, _ := m.Value("tokenizer.ggml.token_type")
	types, _ := v.([]int32) // readVocab checked the type and length
	for i, typ := range types {
		if typ != tokenTypeByte {
			continue
		}
		if model != "llama" && model != "t5" {
			return fmt.Errorf("token %d (%q) is a byte token, which a %q vocabulary cannot decode", i, clip(tokens[i]), model)
		}
		if !isByteText(tokens[i]) {
			return fmt.Errorf("byte token %d is %q, want the form <0xXX>", i, clip(tokens[i]))
		}
	}
	if model != "llama" {
		return nil
	}
	have := make(map[string]bool, len(tokens))
	for _, t := range tokens {
		if len(t) <= len("<0x00>") {
			have[t] = true
		}
	}
	for b := range 256 {
		if !have[fmt.Sprintf("<0x%02X>", b)] && !have[string([]byte{byte(b)})] {
			return fmt.Errorf("the SentencePiece vocabulary has no token for byte 0x%02X (<0x%02X>), which llama.cpp falls back to", b, b)
		}
	}
	return nil
}

func isByteText(t string) bool {
	if len(t) != 6 || t[:3] != "<0x" || t[5] != '>' {
		return false
	}
	_, err := strconv.ParseUint(t[3:5], 16, 8)
	return err == nil
}
